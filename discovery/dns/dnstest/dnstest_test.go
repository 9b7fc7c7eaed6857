package dnstest_test

import (
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/discovery/dns/dnstest"
)

func query(t *testing.T, s *dnstest.Server, net, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Net: net}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	resp, _, err := c.Exchange(m, s.Addr)
	require.NoError(t, err)
	return resp
}

func TestAnswersFromTheZoneAsTheTestEditsIt(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := dnstest.Start(t)
	defer s.Close()
	assert.NotZero(t, s.Port())

	resp := query(t, s, "udp", "nodes.test.", mdns.TypeA)
	assert.Equal(t, mdns.RcodeNameError, resp.Rcode, "no records yet: NXDOMAIN")

	s.Set(t, "nodes.test. 0 IN A 127.0.0.1", "NODES.test. 0 IN A 127.0.0.2", "nodes.test. 0 IN AAAA ::1")
	resp = query(t, s, "udp", "Nodes.Test.", mdns.TypeA)
	require.Equal(t, mdns.RcodeSuccess, resp.Rcode)
	require.Len(t, resp.Answer, 2)
	assert.Equal(t, "127.0.0.1", resp.Answer[0].(*mdns.A).A.String())
	assert.Equal(t, "Nodes.Test.", resp.Answer[0].Header().Name, "answers carry the name as asked")

	resp = query(t, s, "tcp", "nodes.test.", mdns.TypeSRV)
	assert.Equal(t, mdns.RcodeSuccess, resp.Rcode, "records of other types only: NOERROR")
	assert.Empty(t, resp.Answer)

	s.Remove("nodes.test.")
	resp = query(t, s, "tcp", "nodes.test.", mdns.TypeA)
	assert.Equal(t, mdns.RcodeNameError, resp.Rcode)

	assert.EqualValues(t, 2, s.UDPQueries())
	assert.EqualValues(t, 2, s.TCPQueries())
}

func TestTruncateSendsClientsToTCP(t *testing.T) {
	s := dnstest.Start(t)
	s.Set(t, "many.test. 0 IN A 127.0.0.9")
	s.SetTruncate(true)
	resp := query(t, s, "udp", "many.test.", mdns.TypeA)
	assert.True(t, resp.Truncated)
	assert.Empty(t, resp.Answer)
	resp = query(t, s, "tcp", "many.test.", mdns.TypeA)
	assert.False(t, resp.Truncated)
	assert.Len(t, resp.Answer, 1)
	s.SetTruncate(false)
	assert.Len(t, query(t, s, "udp", "many.test.", mdns.TypeA).Answer, 1)
}

func TestSetRefusesWhatIsNotARecord(t *testing.T) {
	s := dnstest.Start(t)
	err := s.SetRecords("nodes.test. 0 IN A not-an-ip")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `record "nodes.test. 0 IN A not-an-ip"`)
	assert.Contains(t, err.Error(), "zone-file syntax")
	err = s.SetRecords("")
	assert.ErrorContains(t, err, "no record in it")
}
