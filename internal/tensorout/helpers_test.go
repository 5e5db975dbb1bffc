package tensorout

import (
	"math"
	"os"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

func f32bits(v float32) uint32 { return math.Float32bits(v) }

func f32Raw(t *testing.T, path, name string) Tensor {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := st.Tensor(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return Raw(v)
}
