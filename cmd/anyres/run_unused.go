package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
)

// unusedRunFlags refuses flags given explicitly (set) that the rest of the
// command line makes do nothing, so that none is ignored without a word.
func unusedRunFlags(f runFlags, set map[string]bool) error {
	for _, c := range []struct {
		flag, when string
		ignored    bool
	}{
		{"save", "without -out (it chooses what a .npy file holds)", f.out == ""},
		{"save", "with a .safetensors -out (which holds all of features, pooled and logits)", f.out != "" && !isNPY(f.out)},
		{"top", "with -out (it counts the classes printed without one)", f.out != ""},
		{"labels", "with -out (they name the classes printed without one)", f.out != ""},
		{"norm", "with -input (the tensor is used as it is)", f.input != ""},
		{"antialias", "without -method (the family's own resampling rule applies)", f.method == ""},
	} {
		if set[c.flag] && c.ignored {
			return fmt.Errorf("-%s does nothing %s", c.flag, c.when)
		}
	}
	return nil
}

func isNPY(path string) bool { return strings.ToLower(filepath.Ext(path)) == ".npy" }

// flagSet reports whether the command line gave the flag explicitly.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
