// Command unicodetables prints the Unicode tables gosem takes from Go, as half-open ranges.
//
// Two Go answers depend on the Unicode version of the go release, which is newer than
// Python's: golang.org/x/mod/module allows a non-ASCII rune in a module zip's file names
// exactly when unicode.IsLetter calls it a letter (fileNameOK), and the go command's error
// texts quote names with %q, which leaves a rune as it is when strconv.IsPrint says so.
// scripts/gen_unicode_tables.py runs this program with the go toolchain whose tables it
// mirrors and writes gopush/gosem/unicodetables.py from the output; the tests run it again to
// check the committed tables.
//
// Output: the first line is "<runtime.Version()> <unicode.Version>"; then one line per range,
// "<table> <first> <end>", table "letter" or "print", first and end in hex (end exclusive),
// each table in increasing order.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unicode"
)

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "%s %s\n", runtime.Version(), unicode.Version)
	printRanges(out, "letter", unicode.IsLetter)
	printRanges(out, "print", strconv.IsPrint)
}

// printRanges writes the runs of runes for which in is true.
func printRanges(out *bufio.Writer, table string, in func(rune) bool) {
	start := rune(-1)
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		ok := r <= unicode.MaxRune && in(r)
		switch {
		case ok && start < 0:
			start = r
		case !ok && start >= 0:
			fmt.Fprintf(out, "%s %x %x\n", table, start, r)
			start = -1
		}
	}
}
