package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/bench"
)

// TestBenchModelCPUAndRSS: bench model's JSON has what
// bench/peers/family_onnxruntime.py compares with ONNX Runtime: the CPU
// time per forward and, on Linux, the running resident peak.
func TestBenchModelCPUAndRSS(t *testing.T) {
	m, err := anyres.Load(tinyModel(t), anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, headOnly := range []bool{false, true} {
		var buf bytes.Buffer
		if err := benchModel(m, "vit_tiny", [][2]int{{32, 48}}, []int{1}, headOnly, time.Millisecond, bench.NewPrinter(&buf, true)); err != nil {
			t.Fatal(err)
		}
		var row map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &row); err != nil {
			t.Fatalf("%v: %q", err, buf.String())
		}
		for _, k := range []string{"ms", "cpu_ms", "run_peak_rss_mb"} {
			if _, ok := row[k]; !ok {
				t.Errorf("no %s in %v", k, row)
			}
		}
		if got := row["output"] == "head"; got != headOnly {
			t.Errorf("head only %v: output %v", headOnly, row["output"])
		}
		if runtime.GOOS != "linux" { // getrusage and /proc/self/status
			continue
		}
		for _, k := range []string{"cpu_ms", "run_peak_rss_mb"} {
			if v, ok := row[k].(float64); !ok || v <= 0 {
				t.Errorf("%s = %v, want a positive number on Linux", k, row[k])
			}
		}
	}
}
