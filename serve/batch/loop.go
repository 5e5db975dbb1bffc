package batch

import "time"

// loop is one of the batcher's Passes goroutines: it assembles passes and
// runs them, one at a time, until Close has been called and the queue is
// empty.
func (b *Batcher) loop() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var p pass
	for b.gather(&p, timer) {
		b.run(&p)
		b.mu.Lock()
		b.idle++
		b.busy -= p.threads
		b.mu.Unlock()
		if p.threads > 0 {
			b.signal() // a loop waiting for threads may go on
		}
	}
	b.signal() // a loop waiting for threads may be waiting to end too
}

// gather waits until a pass should start and moves its requests from the
// queue to p; false once the batcher is closed and drained.
func (b *Batcher) gather(p *pass, timer *time.Timer) bool {
	for {
		b.mu.Lock()
		n, closed := len(b.queue), b.closed
		var wait time.Duration
		blocked := b.free() == 0 // every shared thread is in a pass: wait for one to end
		if n > 0 && !blocked {
			wait = b.opts.Wait - time.Since(b.queue[0].since)
			if closed || wait <= 0 || b.due > 0 || b.full() {
				b.take(p)
				if len(p.reqs) > 0 {
					b.idle--
				}
				more := len(b.queue) > 0
				b.mu.Unlock()
				if more {
					b.signal() // another loop may take the rest
				}
				if len(p.reqs) > 0 {
					return true
				}
				continue // every taken request had left
			}
		}
		if n == 0 {
			b.due = 0 // the callers left
		}
		b.mu.Unlock()
		switch {
		case n == 0 && closed:
			return false
		case blocked:
			<-b.wake // a pass's end signals, also after Close
		case n == 0:
			select {
			case <-b.wake:
			case <-b.quit:
			}
		default:
			timer.Reset(wait)
			select {
			case <-b.wake:
			case <-b.quit:
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

// free is how many passes may start now: the idle loops, and with shared
// threads no more than the threads no pass holds. b.mu is held.
func (b *Batcher) free() int {
	if b.shared > 0 {
		return min(b.idle, b.shared-b.busy)
	}
	return b.idle
}

// take moves the head of the queue into p, oldest first: the first
// image whatever its size, then every next one while the pass stays within
// the budget, the image cap and this loop's share of the queue. Requests
// whose callers left are dropped. With shared threads it gives p its
// threads. b.mu is held, and free() > 0.
//
// The share is the queue split evenly over the passes that may start now:
// with one pass per core, a loop that took the whole queue would leave the
// other cores idle until the next requests arrive (a closed loop of
// clients waits for its answers, so they would not).
func (b *Batcher) take(p *pass) {
	free := b.free()
	share := (len(b.queue) + free - 1) / free
	passes := (len(b.queue) + share - 1) / share
	b.due = 0
	tokens, used := 0, 0
	for _, r := range b.queue {
		if r.state.Load() == left {
			used++
			continue
		}
		if len(p.reqs) > 0 && (tokens+r.tokens > b.opts.MaxTokens || len(p.reqs) >= b.opts.MaxImages) {
			break
		}
		if len(p.reqs) >= share {
			b.due = len(b.queue) - used // as due as these were: another loop takes them now
			break
		}
		if !r.state.CompareAndSwap(queued, taken) {
			used++ // its caller left just now
			continue
		}
		used++
		tokens += r.tokens
		p.reqs = append(p.reqs, r)
	}
	n := copy(b.queue, b.queue[used:])
	clear(b.queue[n:])
	b.queue = b.queue[:n]
	p.net, p.threads = b.m, 0
	if b.shared == 0 || len(p.reqs) == 0 {
		return
	}
	// The last pass the queue makes now takes every thread still free;
	// the others their even share.
	k := b.shared - b.busy
	if n > 0 {
		k = max(1, k/passes)
	}
	if b.nets[k-1] == nil {
		b.nets[k-1] = b.m.WithThreads(k)
	}
	p.net, p.threads = b.nets[k-1], k
	b.busy += k
}

// run runs p as one packed batch and hands each caller its result.
func (b *Batcher) run(p *pass) {
	tokens, images := 0, len(p.reqs)
	for _, r := range p.reqs {
		p.imgs = append(p.imgs, r.img)
		p.outs = append(p.outs, *r.out)
		tokens += r.tokens
	}
	start := time.Now()
	err := p.net.ForwardBatch(p.imgs, p.outs)
	d := time.Since(start)
	if err != nil && len(p.reqs) > 1 {
		// The images were checked before they queued, so this is one
		// image over the model's own token cap or a failure of one of
		// them: run each alone, so that each caller gets its own answer.
		for i, r := range p.reqs {
			r.err = p.net.Forward(r.img, &p.outs[i])
		}
	} else {
		for _, r := range p.reqs {
			r.err = err
		}
	}
	// Observed before the callers hear back, so that what a caller sees
	// after its answer (metrics) already counts its pass.
	if b.opts.Observe != nil {
		b.opts.Observe(Pass{Images: images, Tokens: tokens, Threads: p.threads, Duration: d, Err: err})
	}
	for i, r := range p.reqs {
		*r.out = p.outs[i]
		r.done <- struct{}{} // r is its caller's again from here
	}
	clear(p.reqs)
	clear(p.imgs)
	clear(p.outs)
	p.reqs, p.imgs, p.outs = p.reqs[:0], p.imgs[:0], p.outs[:0]
}
