package testnet

import (
	"bytes"
	"strings"
	"sync"
)

// SyncBuffer collects what a process, a logger or a server writes while a
// test reads it: Write, String and Len are safe to call at the same time.
// The zero value is an empty buffer ready to use.
type SyncBuffer struct {
	// Limit, when > 0, bounds the buffer: once it holds more than Limit
	// bytes it keeps only the newest Limit/2 (what went wrong is usually
	// at the end of a long log).
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if s.Limit > 0 && s.b.Len() > s.Limit {
		keep := bytes.Clone(s.b.Bytes()[s.b.Len()-s.Limit/2:])
		s.b.Reset()
		s.b.Write(keep)
	}
	return len(p), nil
}

// String returns everything written so far (the newest part under Limit).
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len returns how many bytes the buffer holds.
func (s *SyncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// Lines returns the lines written so far that contain every one of want
// (every line when want is empty), without their newlines: the log lines
// a test looks for.
func (s *SyncBuffer) Lines(want ...string) []string {
	var out []string
next:
	for line := range strings.Lines(s.String()) {
		line = strings.TrimSuffix(line, "\n")
		for _, w := range want {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}
