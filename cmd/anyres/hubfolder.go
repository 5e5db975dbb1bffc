package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

// The commands that read and write checkpoints (quantize,
// resize-checkpoint, posviz) take, as run does, a safetensors file or a
// hub folder (model.safetensors with config.json beside it), and write a
// hub folder when -out is not a .safetensors file.

// hubIn resolves an input: a folder is its model.safetensors, and its
// config.json (when it has one) is the config, unless -config names
// another. A file is itself, with -config as given.
func hubIn(in, config string) (weights, cfg string, folder bool, err error) {
	fi, err := os.Stat(in)
	if err != nil || !fi.IsDir() {
		return in, config, false, nil // a file (or nothing: the reader says so)
	}
	weights = filepath.Join(in, "model.safetensors")
	if _, err := os.Stat(weights); err != nil {
		return "", "", true, fmt.Errorf("%s is a folder without model.safetensors: want a .safetensors file or a hub folder", in)
	}
	if config == "" {
		if _, err := os.Stat(filepath.Join(in, "config.json")); err == nil {
			config = filepath.Join(in, "config.json")
		}
	}
	return weights, config, true, nil
}

// hubOut resolves an output: a path ending in .safetensors, or anything
// already there but a folder, is that file; a folder, or a path that does
// not exist yet, is a hub folder (made if it does not exist; its parent
// must), to hold model.safetensors and config.json. Nothing is created
// yet: makeHubOut does that once the work is done.
func hubOut(out string) (weights, folder string, err error) {
	if strings.EqualFold(filepath.Ext(out), ".safetensors") {
		return out, "", nil
	}
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The folder's parent must be one to write in.
		if err := tensorout.CheckWritable(out); err != nil {
			return "", "", err
		}
	case err != nil:
		return "", "", fmt.Errorf("cannot write %s: %w", out, err)
	case !fi.IsDir():
		return out, "", nil // an existing file (or device, refused later) is a file output, as before
	}
	weights = filepath.Join(out, "model.safetensors")
	if fi != nil {
		for _, name := range []string{weights, filepath.Join(out, "config.json")} {
			if err := tensorout.CheckWritable(name); err != nil {
				return "", "", err
			}
		}
	}
	return weights, out, nil
}

// checkOutNotIn refuses outputs (the file, or the folder's two files) that
// are one of the inputs.
func checkOutNotIn(weights, folder string, inputs ...string) error {
	outs := []string{weights}
	if folder != "" {
		outs = append(outs, filepath.Join(folder, "config.json"))
	}
	for _, o := range outs {
		if err := tensorout.CheckNotInput(o, inputs...); err != nil {
			return err
		}
	}
	return nil
}

// hubInOut resolves a rewriting command's input (hubIn) and output
// (hubOut) and refuses an output that is one of its inputs or cannot be
// written, before any work.
func hubInOut(in, config, out string) (inFile, inConfig, outFile, outFolder string, err error) {
	if inFile, inConfig, _, err = hubIn(in, config); err != nil {
		return
	}
	if outFile, outFolder, err = hubOut(out); err != nil {
		return
	}
	if err = checkOutNotIn(outFile, outFolder, inFile, inConfig); err != nil {
		return
	}
	if outFolder == "" {
		err = tensorout.CheckWritable(outFile)
	}
	return
}

// makeHubOut makes the output folder (when it is one and does not exist).
func makeHubOut(folder string) error {
	if folder == "" {
		return nil
	}
	if err := os.Mkdir(folder, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// writeHubConfig writes config.json into the output folder (through a
// temporary file renamed into place).
func writeHubConfig(folder string, config []byte) error {
	if folder == "" || config == nil {
		return nil
	}
	path := filepath.Join(folder, "config.json")
	return tensorout.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(config)
		return err
	})
}

// readConfigFile reads a config file, bounded; nil for "".
func readConfigFile(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	return tensorfile.ReadFileLimit(path, tensorfile.MaxConfigBytes, "config file")
}
