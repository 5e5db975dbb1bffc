//go:build unix

package main

import (
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// SIGTERM makes anyres serve shut down gracefully and return no error (the
// in-flight side of it is serve's TestShutdownFinishesInFlight).
func TestServeStopsOnSIGTERM(t *testing.T) {
	// A free port: the command prints its address, it does not return it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	done := make(chan error, 1)
	go func() { done <- runServe([]string{"-weights", tinyModel(t), "-addr", addr}) }()
	// The command listens only after it has asked for SIGTERM, so once a
	// request is answered the signal cannot kill the test.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/v2/health/live")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before it answered: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer on " + addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after SIGTERM on " + strconv.Quote(addr))
	}
}
