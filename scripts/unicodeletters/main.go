// Command unicodeletters prints the runes Go's unicode.IsLetter accepts, as half-open ranges.
//
// golang.org/x/mod/module allows a non-ASCII rune in a module zip's file names exactly when
// unicode.IsLetter says it is a letter (fileNameOK), so these ranges are the table gosem needs.
// scripts/gen_unicode_letters.py runs this program with the go toolchain whose tables it
// mirrors and writes gopush/gosem/unicode_letters.py from the output; the tests run it again to
// check the committed table.
//
// Output: the first line is "<runtime.Version()> <unicode.Version>"; then one line per range,
// "<first> <end>" in hex, first inclusive and end exclusive, in increasing order.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"unicode"
)

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "%s %s\n", runtime.Version(), unicode.Version)
	start := rune(-1)
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		letter := r <= unicode.MaxRune && unicode.IsLetter(r)
		switch {
		case letter && start < 0:
			start = r
		case !letter && start >= 0:
			fmt.Fprintf(out, "%x %x\n", start, r)
			start = -1
		}
	}
}
