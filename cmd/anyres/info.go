package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/anyres/anyres/kernels"
)

func init() {
	commands["info"] = command{"show the CPU, its SIMD features and the kernel level chosen", runInfo}
}

func runInfo(args []string) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := kernels.Info()
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("cpu:       %s (%s)\n", r.CPU, r.Arch)
	var have, lack []string
	for _, f := range kernels.FeatureNames() {
		if r.Features[f] {
			have = append(have, f)
		} else {
			lack = append(lack, f)
		}
	}
	fmt.Printf("features:  %s\n", strings.Join(have, " "))
	fmt.Printf("absent:    %s\n", strings.Join(lack, " "))
	fmt.Printf("available: %s\n", strings.Join(r.Available, ", "))
	fmt.Printf("level:     %s — %s\n", r.Level, r.Why)
	for _, name := range sortedKeys(r.Families) {
		fmt.Printf("  %-12s %s\n", name, r.Families[name])
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
