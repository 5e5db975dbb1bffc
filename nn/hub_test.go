package nn

import "testing"

func TestHubLabels(t *testing.T) {
	h, ok := ParseHub([]byte(`{"architecture": "x", "label_names": {"0": "n0", "2": "n2"}, "label_descriptions": {"n2": "two"}}`))
	if !ok {
		t.Fatal("not parsed")
	}
	if got := h.Labels(3); len(got) != 3 || got[0] != "n0" || got[1] != "" || got[2] != "two" {
		t.Errorf("labels %q", got)
	}
	var none *HubConfig
	if none.Labels(5) != nil {
		t.Error("nil config has labels")
	}
	if _, ok := ParseHub([]byte(`{"depth": 2}`)); ok {
		t.Error("a config without an architecture parsed as timm's")
	}
}
