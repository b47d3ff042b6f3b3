// Command createfromvcs makes a module zip with golang.org/x/mod/zip.CreateFromVCS, the
// library call that turns a git revision into the zip the go command would make, so that
// benchmarks/build_speed.py can time gopush build against it on the same tag in the same run.
//
// Usage:
//
//	createfromvcs -out FILE [-sum] [-subdir DIR] MODULE VERSION REPO_ROOT REVISION
//
// CreateFromVCS runs `git archive --format=zip` in REPO_ROOT itself, reads that zip, and
// writes the module zip to FILE. With -sum it then prints the zip's h1: hash
// (sumdb/dirhash.HashZip), which the benchmark compares with gopush's and go's; the timed
// runs leave -sum off so that hashing is not counted against x/mod.
package main

import (
	"flag"
	"fmt"
	"os"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "file to write the module zip to")
	sum := flag.Bool("sum", false, "print the zip's h1: hash after writing it")
	subdir := flag.String("subdir", "", "module directory inside the repository")
	flag.Parse()
	if *out == "" || flag.NArg() != 4 {
		fmt.Fprintln(os.Stderr, "usage: createfromvcs -out FILE [-sum] [-subdir DIR] MODULE VERSION REPO_ROOT REVISION")
		os.Exit(2)
	}
	args := flag.Args()
	mod := module.Version{Path: args[0], Version: args[1]}
	if err := create(*out, mod, args[2], args[3], *subdir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *sum {
		h, err := dirhash.HashZip(*out, dirhash.Hash1)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(h)
	}
}

func create(path string, mod module.Version, repoRoot, revision, subdir string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := zip.CreateFromVCS(f, mod, repoRoot, revision, subdir); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
