// Package dnstest runs a real DNS server on 127.0.0.1 for tests of DNS
// discovery: UDP and TCP on one port, answering from a zone the test
// edits while it runs (records in zone-file syntax), with counters of the
// queries it answered and a switch that truncates UDP answers so that
// clients must retry over TCP.
//
//	s := dnstest.Start(t)
//	s.Set(t, "nodes.test. 0 IN A 127.0.0.1", "nodes.test. 0 IN A 127.0.0.2")
//	d, err := dns.New(dns.Config{App: "n", Domain: "nodes.test", Server: s.Addr})
package dnstest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Server is a DNS server answering from an editable zone.
type Server struct {
	// Addr is the server's address, host:port, for UDP and TCP alike.
	Addr string

	mu       sync.Mutex
	records  map[string][]mdns.RR // by lowercase absolute name
	truncate bool                 // UDP answers carry TC and no records

	udpQueries, tcpQueries atomic.Int64
	udp, tcp               *mdns.Server
	done                   chan struct{} // one value per server that stopped
	closeOnce              sync.Once
}

// Start starts a server with an empty zone; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server with an empty zone (for an example, which has no
// testing.TB); Close stops it.
func New() (*Server, error) {
	s := &Server{records: map[string][]mdns.RR{}}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dnstest: listen on UDP 127.0.0.1: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 50 {
			return nil, fmt.Errorf("dnstest: no port of 127.0.0.1 free for both UDP and TCP after %d attempts: %w", attempt+1, err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.handle(&s.udpQueries, true)), NotifyStartedFunc: notify}
	s.tcp = &mdns.Server{Listener: ln, Handler: mdns.HandlerFunc(s.handle(&s.tcpQueries, false)), NotifyStartedFunc: notify}
	s.done = make(chan struct{}, 2)
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		go func() {
			defer func() { s.done <- struct{}{} }()
			srv.ActivateAndServe()
		}()
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for range 2 {
		select {
		case <-started:
		case <-timeout.C:
			s.Close()
			return nil, errors.New("dnstest: server on " + s.Addr + " not started within 10s")
		}
	}
	return s, nil
}

// Close stops the server and waits for it; a second Close does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
		<-s.done
		<-s.done
	})
}

// Port returns the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Set replaces the records of every name the given records belong to (the
// others stay). An RR is written in zone-file syntax, such as
// "nodes.test. 0 IN A 127.0.0.1"; the test fails on one that does not parse.
func (s *Server) Set(t testing.TB, rrs ...string) {
	t.Helper()
	if err := s.SetRecords(rrs...); err != nil {
		t.Fatal(err)
	}
}

// SetRecords is Set returning an error (for an example).
func (s *Server) SetRecords(rrs ...string) error {
	parsed := map[string][]mdns.RR{}
	for _, text := range rrs {
		rr, err := mdns.NewRR(text)
		if err == nil && rr == nil {
			err = errors.New("no record in it")
		}
		if err != nil {
			return fmt.Errorf("dnstest: record %q: %v; want one record in zone-file syntax, such as \"nodes.test. 0 IN A 127.0.0.1\"", text, err)
		}
		name := strings.ToLower(rr.Header().Name)
		parsed[name] = append(parsed[name], rr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, list := range parsed {
		s.records[name] = list
	}
	return nil
}

// Remove deletes every record of name (absolute, with the trailing dot):
// queries for it get NXDOMAIN again.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, strings.ToLower(name))
}

// SetTruncate makes UDP answers truncated (TC set, no records), so that
// clients must retry over TCP.
func (s *Server) SetTruncate(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate = on
}

// UDPQueries and TCPQueries count the queries answered over each transport.
func (s *Server) UDPQueries() int64 { return s.udpQueries.Load() }

// TCPQueries counts the queries answered over TCP.
func (s *Server) TCPQueries() int64 { return s.tcpQueries.Load() }

// handle answers from the zone: the records of the asked name and type
// (NOERROR with no answer when the name has records of other types only),
// NXDOMAIN for a name without any record, FORMERR for a query without
// exactly one question.
func (s *Server) handle(count *atomic.Int64, udp bool) func(mdns.ResponseWriter, *mdns.Msg) {
	return func(w mdns.ResponseWriter, req *mdns.Msg) {
		count.Add(1)
		resp := new(mdns.Msg)
		resp.SetReply(req)
		resp.Authoritative = true
		if len(req.Question) != 1 {
			resp.Rcode = mdns.RcodeFormatError
			w.WriteMsg(resp)
			return
		}
		q := req.Question[0]
		s.mu.Lock()
		list, exists := s.records[strings.ToLower(q.Name)]
		truncate := s.truncate && udp
		s.mu.Unlock()
		switch {
		case truncate:
			resp.Truncated = true
		case !exists:
			resp.Rcode = mdns.RcodeNameError
		default:
			for _, rr := range list {
				if rr.Header().Rrtype == q.Qtype {
					rr = mdns.Copy(rr)
					rr.Header().Name = q.Name
					resp.Answer = append(resp.Answer, rr)
				}
			}
		}
		w.WriteMsg(resp)
	}
}
