package engine

import "github.com/steerbook/steerbook/engine/defaultmodel"

// The default model ships in engine/defaultmodel (it embeds the files and
// imports nothing of the engine); it is registered here once its weights are
// present in the checkout.
func init() {
	if defaultmodel.Available() {
		RegisterDefault(defaultmodel.FS(), ".")
	}
}
