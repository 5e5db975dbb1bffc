package vit

import (
	"errors"
	"fmt"
)

// pack lays the images out one after another in the sequence, checking
// each and the total token count before any buffer is sized.
func (ws *workspace) pack(imgs []Image) error {
	m := ws.m
	if len(imgs) == 0 {
		return errors.New("vit: no images")
	}
	prefix := m.cfg.Prefix()
	ws.segs = ws.segs[:0]
	ws.tokens = 0
	for i, img := range imgs {
		if err := m.checkImage(img); err != nil {
			if len(imgs) > 1 {
				return fmt.Errorf("image %d: %w", i, err)
			}
			return err
		}
		g := gridFor(img.H, img.W, m.patch, m.edge)
		n := prefix + g.N()
		if ws.tokens+n > m.maxTokens {
			return fmt.Errorf("%w: %d tokens (with image %d at %d×%d, grid %s) exceed the cap of %d (Options.MaxTokens)",
				ErrTooManyTokens, ws.tokens+n, i, img.H, img.W, g, m.maxTokens)
		}
		ws.segs = append(ws.segs, segment{img: img, grid: g, off: ws.tokens, n: n})
		ws.tokens += n
	}
	if m.edge == EdgeResize {
		if err := ws.resizeImages(); err != nil {
			return err
		}
	}
	ws.size()
	return nil
}
