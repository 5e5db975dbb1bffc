package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anyres/anyres/kernels"
)

// TestResampleJSON runs 'anyres bench resample -json' at the generic level
// with the shortest measuring time and checks every line is a result.
func TestResampleJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark case")
	}
	var buf bytes.Buffer
	if err := Resample(NewPrinter(&buf, true), []kernels.Level{kernels.Generic}, 1, 0, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if want := len(ResampleCases()); len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, buf.String())
	}
	for _, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if ms, ok := r["ms"].(float64); !ok || ms <= 0 {
			t.Fatalf("%q: no positive ms", line)
		}
	}
	r, err := PatchResizeBench(2, 3, [2]int{4, 4}, [2]int{8, 8}, 0)
	if err != nil || r.Fields["ms"].(float64) <= 0 {
		t.Fatalf("PatchResizeBench: %v %v", r, err)
	}
}
