package locker

import (
	"strings"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	req := opRequest{Lease: 1500 * time.Millisecond, Token: 1<<60 + 7, Resource: "res", Owner: "n1@h/default/x"}
	b, err := req.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRequest(b)
	if err != nil || got != req {
		t.Fatalf("request round trip: %+v, %v; want %+v", got, err, req)
	}
	rep := opReply{Status: stRefused, Token: 9, Remaining: 250 * time.Millisecond, Holder: "other"}
	gotRep, err := decodeReply(rep.encode())
	if err != nil || gotRep != rep {
		t.Fatalf("reply round trip: %+v, %v; want %+v", gotRep, err, rep)
	}
	if _, err := (&opRequest{Resource: strings.Repeat("x", 70000)}).encode(); err == nil {
		t.Fatal("a 70000-byte resource encoded, want an error")
	}
	if _, err := decodeReply([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err == nil || !strings.Contains(err.Error(), "status 9") {
		t.Fatalf("reply with status 9: %v, want an error naming the status", err)
	}
	if _, err := decodeRequest(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("request with a trailing byte: %v, want an error saying so", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	b, _ := (&opRequest{Lease: time.Second, Token: 3, Resource: "r", Owner: "o"}).encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err != nil {
			return
		}
		again, err := r.encode()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		if r2, err := decodeRequest(again); err != nil || r2 != r {
			t.Fatalf("re-decode: %+v %v, want %+v", r2, err, r)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add((&opReply{Status: stGranted, Token: 5, Remaining: time.Second, Holder: "h"}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReply(b)
		if err != nil {
			return
		}
		if r2, err := decodeReply(r.encode()); err != nil || r2 != r {
			t.Fatalf("re-decode: %+v %v, want %+v", r2, err, r)
		}
	})
}
