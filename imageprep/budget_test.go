package imageprep

import "testing"

// TestNaFlexSize checks the SigLIP 2 size search against values of the
// reference algorithm (Hugging Face's get_image_size_for_max_num_patches,
// run in Python's float64).
func TestNaFlexSize(t *testing.T) {
	for _, c := range []struct{ h, w, budget, H, W int }{
		{480, 640, 256, 224, 288},
		{640, 480, 256, 288, 224},
		{1080, 1920, 256, 192, 336},
		{100, 1000, 64, 48, 336},
		{37, 53, 4096, 848, 1216},
		{224, 224, 196, 224, 224},
		{500, 333, 256, 304, 208},
		{2000, 10, 16, 256, 16},
		{100, 223, 256, 176, 368},
	} {
		s, err := BudgetNaFlex.Size(c.h, c.w, 16, c.budget)
		if err != nil || s.H != c.H || s.W != c.W {
			t.Errorf("%d×%d under %d patches: %v (%v), want %d×%d", c.h, c.w, c.budget, s, err, c.H, c.W)
		}
		if (s.H/16)*(s.W/16) > c.budget {
			t.Errorf("%v is over the budget of %d", s, c.budget)
		}
	}
	for _, bad := range [][4]int{{0, 10, 16, 4}, {10, 10, 0, 4}, {10, 10, 16, 0}, {10, 10, 16, MaxTokens + 1}} {
		if _, err := NaFlexSize(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("NaFlexSize%v: no error", bad)
		}
	}
}

// TestBudgetRules: Options.Budget picks the rule, and the two rules differ
// where the doc says (a 100×223 image under 256 patches of 16).
func TestBudgetRules(t *testing.T) {
	src := Size{H: 100, W: 223}
	aspect, err := Options{Tokens: 256, Patch: 16}.TargetSize(src)
	if err != nil {
		t.Fatal(err)
	}
	naflex, err := Options{Tokens: 256, Patch: 16, Budget: BudgetNaFlex}.TargetSize(src)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := BudgetSize(100, 223, 16, 256)
	wantN, _ := NaFlexSize(100, 223, 16, 256)
	if aspect != want || naflex != wantN || aspect == naflex {
		t.Errorf("aspect rule %v (want %v), NaFlex rule %v (want %v): want them different", aspect, want, naflex, wantN)
	}
	if _, err := (Options{Tokens: 256, Patch: 16, Budget: 7}).TargetSize(src); err == nil {
		t.Error("an unknown rule was accepted")
	}
}
