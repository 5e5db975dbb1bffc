package batch

import "time"

// loop is the batcher's goroutine: it assembles passes and runs them, one
// at a time (the model's own workers use every core), until Close has been
// called and the queue is empty.
func (b *Batcher) loop() {
	defer close(b.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for b.gather(timer) {
		b.run()
	}
}

// gather waits until a pass should start and moves its requests from the
// queue to b.pass; false once the batcher is closed and drained.
func (b *Batcher) gather(timer *time.Timer) bool {
	for {
		b.mu.Lock()
		n, closed := len(b.queue), b.closed
		var wait time.Duration
		if n > 0 {
			wait = b.opts.Wait - time.Since(b.queue[0].since)
			if closed || wait <= 0 || b.full() {
				b.take()
				b.mu.Unlock()
				if len(b.pass) > 0 {
					return true
				}
				continue // every taken request had left
			}
		}
		b.mu.Unlock()
		switch {
		case n == 0 && closed:
			return false
		case n == 0:
			<-b.wake
		default:
			timer.Reset(wait)
			select {
			case <-b.wake:
			case <-timer.C:
			}
			timer.Stop()
		}
	}
}

// full reports whether the queue holds a whole pass: the token budget or
// the image cap reached. b.mu is held.
func (b *Batcher) full() bool {
	if len(b.queue) >= b.opts.MaxImages {
		return true
	}
	tokens := 0
	for _, r := range b.queue {
		if tokens += r.tokens; tokens >= b.opts.MaxTokens {
			return true
		}
	}
	return false
}

// take moves the head of the queue into b.pass, oldest first: the first
// image whatever its size, then every next one while the pass stays within
// the budget and the image cap. Requests whose callers left are dropped.
// b.mu is held.
func (b *Batcher) take() {
	tokens, used := 0, 0
	for _, r := range b.queue {
		if r.state.Load() == left {
			used++
			continue
		}
		if len(b.pass) > 0 && (tokens+r.tokens > b.opts.MaxTokens || len(b.pass) >= b.opts.MaxImages) {
			break
		}
		if !r.state.CompareAndSwap(queued, taken) {
			used++ // its caller left just now
			continue
		}
		used++
		tokens += r.tokens
		b.pass = append(b.pass, r)
	}
	n := copy(b.queue, b.queue[used:])
	clear(b.queue[n:])
	b.queue = b.queue[:n]
}

// run runs b.pass as one packed batch and hands each caller its result.
func (b *Batcher) run() {
	tokens, images := 0, len(b.pass)
	for _, r := range b.pass {
		b.imgs = append(b.imgs, r.img)
		b.outs = append(b.outs, *r.out)
		tokens += r.tokens
	}
	start := time.Now()
	err := b.m.ForwardBatch(b.imgs, b.outs)
	d := time.Since(start)
	if err != nil && len(b.pass) > 1 {
		// The images were checked before they queued, so this is one
		// image over the model's own token cap or a failure of one of
		// them: run each alone, so that each caller gets its own answer.
		for i, r := range b.pass {
			r.err = b.m.Forward(r.img, &b.outs[i])
		}
	} else {
		for _, r := range b.pass {
			r.err = err
		}
	}
	// Observed before the callers hear back, so that what a caller sees
	// after its answer (metrics) already counts its pass.
	if b.opts.Observe != nil {
		b.opts.Observe(Pass{Images: images, Tokens: tokens, Duration: d, Err: err})
	}
	for i, r := range b.pass {
		*r.out = b.outs[i]
		r.done <- struct{}{} // r is its caller's again from here
	}
	clear(b.pass)
	clear(b.imgs)
	clear(b.outs)
	b.pass, b.imgs, b.outs = b.pass[:0], b.imgs[:0], b.outs[:0]
}
