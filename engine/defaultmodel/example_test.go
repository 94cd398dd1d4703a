package defaultmodel_test

import (
	"fmt"
	"io/fs"

	"github.com/steerbook/steerbook/engine/defaultmodel"
)

// The embedded folder is a Hugging Face style model directory.
func ExampleFS() {
	_, err := fs.Stat(defaultmodel.FS(), "tokenizer.json")
	fmt.Println("tokenizer.json embedded:", err == nil)
	// Output: tokenizer.json embedded: true
}
