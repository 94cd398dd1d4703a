"""Go snippets shared by the Python tests, in one place so that the cell
syntax they rely on is easy to review."""

DISPLAY = "github.com/steerbook/steerbook/kernel/display"

HELLO = 'import "fmt"\nfmt.Println("hello, world")'
STDERR = 'import (\n\t"fmt"\n\t"os"\n)\nfmt.Fprintln(os.Stderr, "oops on stderr")'
ERROR = 'panic("boom")'
HTML = f'import "{DISPLAY}"\ndisplay.HTML("<b>bold</b>")'
PNG_FROM_IMAGE = (
    f'import (\n\t"image"\n\t"image/color"\n\t"{DISPLAY}"\n)\n'
    "img := image.NewRGBA(image.Rect(0, 0, 4, 4))\n"
    "img.Set(1, 1, color.RGBA{255, 0, 0, 255})\n"
    "display.Image(img)"
)
CLEAR = f'import (\n\t"fmt"\n\t"{DISPLAY}"\n)\nfmt.Println("going away")\ndisplay.Clear()'
LOOP = "for {\n}"
