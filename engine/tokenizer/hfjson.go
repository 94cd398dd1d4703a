package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AddedToken is an entry of tokenizer.json's added_tokens table. Added tokens
// are matched in the input text before pre-tokenization (longest match first)
// and map to a single id. The lstrip/rstrip/single_word/normalized flags are
// kept so a file can be written back unchanged; the DeepSeek files set the
// first three to false, and Encode does not implement them.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// hfFile is the subset of Hugging Face's tokenizer.json that byte-level BPE
// tokenizers of the DeepSeek family use.
type hfFile struct {
	Version      string          `json:"version"`
	AddedTokens  []AddedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        struct {
		Type                    string            `json:"type"`
		Vocab                   map[string]int    `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		ByteFallback            bool              `json:"byte_fallback"`
		IgnoreMerges            bool              `json:"ignore_merges"`
	} `json:"model"`
}

type hfPreTok struct {
	Type          string     `json:"type"`
	Pretokenizers []hfPreTok `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       bool   `json:"use_regex"`
}

// checkPreTokenizer accepts exactly the DeepSeek pre-tokenizer of design §4.1,
// the only one Encode implements.
func checkPreTokenizer(raw json.RawMessage) error {
	var p hfPreTok
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	want := []string{patDigits, patCJK, patMain}
	if p.Type != "Sequence" || len(p.Pretokenizers) != len(want)+1 {
		return fmt.Errorf("pre_tokenizer: type %q with %d steps is not the DeepSeek Sequence of 3 Splits + ByteLevel", p.Type, len(p.Pretokenizers))
	}
	for i, w := range want {
		s := p.Pretokenizers[i]
		if s.Type != "Split" || s.Pattern == nil || s.Pattern.Regex == nil || *s.Pattern.Regex != w || s.Behavior != "Isolated" || s.Invert {
			return fmt.Errorf("pre_tokenizer.pretokenizers[%d]: not the DeepSeek split %q", i, w)
		}
	}
	last := p.Pretokenizers[len(want)]
	if last.Type != "ByteLevel" || last.AddPrefixSpace || last.UseRegex {
		return fmt.Errorf("pre_tokenizer.pretokenizers[%d]: want ByteLevel without prefix space or regex", len(want))
	}
	return nil
}

// Load reads a Hugging Face tokenizer.json. When a tokenizer_config.json sits
// in the same directory, its bos_token and eos_token name BOS and EOS.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if cb, err := os.ReadFile(cfgPath); err == nil {
		if err := t.applyConfig(cb); err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", cfgPath, err)
		}
	}
	return t, nil
}

// FromJSON parses the contents of a Hugging Face tokenizer.json holding a
// byte-level BPE model with the DeepSeek pre-tokenizer.
func FromJSON(b []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model.type %q, want BPE", f.Model.Type)
	}
	if f.Model.ByteFallback || f.Model.IgnoreMerges ||
		(f.Model.ContinuingSubwordPrefix != nil && *f.Model.ContinuingSubwordPrefix != "") ||
		(f.Model.EndOfWordSuffix != nil && *f.Model.EndOfWordSuffix != "") {
		return nil, fmt.Errorf("tokenizer.json: model options byte_fallback/ignore_merges/subword prefix or suffix are not supported")
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if len(f.Normalizer) > 0 && string(f.Normalizer) != "null" {
		var n struct {
			Type        string            `json:"type"`
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("tokenizer.json: normalizer: %w", err)
		}
		if n.Type != "Sequence" || len(n.Normalizers) != 0 {
			return nil, fmt.Errorf("tokenizer.json: normalizer %s is not supported (want none)", f.Normalizer)
		}
	}
	merges := make([][2]string, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		// Older files store "left right"; newer ones ["left", "right"].
		// Byte-level tokens never contain a raw space, so the split is exact.
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			l, r, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(r, " ") {
				return nil, fmt.Errorf("tokenizer.json: model.merges[%d] %q is not two tokens", i, s)
			}
			merges[i] = [2]string{l, r}
			continue
		}
		var pair []string
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("tokenizer.json: model.merges[%d] %s is neither \"a b\" nor [a, b]", i, raw)
		}
		merges[i] = [2]string{pair[0], pair[1]}
	}
	return build(f.Model.Vocab, merges, f.AddedTokens)
}

// ApplyConfig sets BOS, EOS and pad from the contents of a
// tokenizer_config.json (bos_token/eos_token/pad_token, each a string or an
// AddedToken object with "content"); keys that are absent leave the defaults,
// which come from the DeepSeek token names. Load does this for the file beside
// tokenizer.json; call it yourself after FromJSON, before the tokenizer is
// shared between goroutines.
func (t *Tokenizer) ApplyConfig(b []byte) error {
	if err := t.applyConfig(b); err != nil {
		return fmt.Errorf("tokenizer_config.json: %w", err)
	}
	return nil
}

func (t *Tokenizer) applyConfig(b []byte) error {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	name := func(key string) (string, bool) {
		raw, ok := cfg[key]
		if !ok {
			return "", false
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		var obj struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Content != "" {
			return obj.Content, true
		}
		return "", false
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"bos_token", &t.bos}, {"eos_token", &t.eos}, {"pad_token", &t.pad}} {
		if s, ok := name(f.key); ok {
			id, ok := t.TokenID(s)
			if !ok {
				return fmt.Errorf("%s %q is not in the vocabulary", f.key, s)
			}
			*f.dst = id
		}
	}
	return nil
}

// WriteJSON writes the tokenizer as a Hugging Face tokenizer.json in the same
// layout as DeepSeek's: DeepSeek pre-tokenizer, byte-level decoder, BPE model
// with its vocabulary in id order and merges as "left right" strings.
func (t *Tokenizer) WriteJSON(path string) error {
	b, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return nil
}

// MarshalJSON renders the tokenizer.json text (see WriteJSON).
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	str := func(s string) {
		// No HTML escaping: the file should read "<think>", not "\u003cthink\u003e".
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s) // cannot fail for a string
		buf.Write(bytes.TrimRight(sb.Bytes(), "\n"))
	}
	buf.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, "\n    {\"id\": %d, \"content\": ", a.ID)
		str(a.Content)
		fmt.Fprintf(&buf, ", \"single_word\": %t, \"lstrip\": %t, \"rstrip\": %t, \"normalized\": %t, \"special\": %t}",
			a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	buf.WriteString("\n  ],\n  \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": []},\n")
	buf.WriteString("  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n")
	for _, p := range []string{patDigits, patCJK, patMain} {
		buf.WriteString("    {\"type\": \"Split\", \"pattern\": {\"Regex\": ")
		str(p)
		buf.WriteString("}, \"behavior\": \"Isolated\", \"invert\": false},\n")
	}
	buf.WriteString("    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}\n  ]},\n")
	buf.WriteString("  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},\n")
	buf.WriteString("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
	buf.WriteString("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"vocab\": {")
	first := true
	for id, tok := range t.tokens {
		if !t.inModel[id] {
			continue
		}
		if !first {
			buf.WriteString(",")
		}
		first = false
		buf.WriteString("\n      ")
		str(tok)
		fmt.Fprintf(&buf, ": %d", id)
	}
	buf.WriteString("\n    },\n    \"merges\": [")
	for i, m := range t.mergeList {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n      ")
		str(t.tokens[m[0]] + " " + t.tokens[m[1]])
	}
	buf.WriteString("\n    ]\n  }\n}\n")
	return buf.Bytes(), nil
}

// WriteConfig writes a tokenizer_config.json beside a tokenizer.json in the
// shape DeepSeek-V4 ships (design §1.4): no automatic BOS/EOS, bos/eos/pad
// names, PreTrainedTokenizerFast. Load reads bos/eos/pad back from it.
func (t *Tokenizer) WriteConfig(path string, modelMaxLength int) error {
	name := func(id int) any {
		if id < 0 {
			return nil
		}
		return t.tokenString(id)
	}
	cfg := map[string]any{
		"add_bos_token":                false,
		"add_eos_token":                false,
		"bos_token":                    name(t.bos),
		"eos_token":                    name(t.eos),
		"pad_token":                    name(t.pad),
		"clean_up_tokenization_spaces": false,
		"legacy":                       true,
		"model_max_length":             modelMaxLength,
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"unk_token":                    nil,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("tokenizer config %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("tokenizer config: %w", err)
	}
	return nil
}
