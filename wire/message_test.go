package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// edgeCases are values at the edges of each field's range.
func edgeCases() []Message {
	long := bytes.Repeat([]byte{'n'}, math.MaxUint16)
	many := make([][]byte, 300)
	for i := range many {
		many[i] = fmt.Appendf(nil, "n%d@h", i)
	}
	return []Message{
		&Hello{MinVersion: 0, MaxVersion: 255, Caps: math.MaxUint32, MaxPayload: math.MaxUint32, Lane: 255, LinkID: math.MaxUint64},
		&Challenge{Version: 255, Name: long},
		&Proof{T: TypeAuth},
		&Reject{T: TypeGoodbye, Code: Code(math.MaxUint16)},
		&Call{},
		&Call{TimeoutMillis: math.MaxUint32, Method: long, Payload: bytes.Repeat([]byte{1}, 100000)},
		&Reply{},
		&ErrorReply{Code: CodeHandlerPanic},
		&Cast{Method: []byte("m")},
		&Ping{SentNanos: math.MaxUint64},
		&Pong{},
		&MemberTable{},
		&MemberTable{Members: []MemberEntry{{Status: StatusJoining}, {Name: long, Status: StatusLeaving, SinceMillis: math.MaxUint64, Incarnation: math.MaxUint64}}},
		&Join{},
		&Leave{Node: long},
		&ForceLeave{By: []byte("x")},
		&MemberStatus{Status: StatusDown},
		&MemberServices{},
		&MemberServices{Node: long, GUID: guid(1), Services: [][]byte{[]byte("autoheal"), {}, long}},
		&MemberVersion{},
		&MemberVersion{Node: long, GUID: guid(1), Version: long},
		&MemberTags{},
		&MemberTags{Node: long, GUID: guid(1), Tags: []Tag{{[]byte("role"), []byte("db")}, {long, []byte{}}}},
		&MemberSuspended{},
		&MemberSuspended{Node: long, GUID: guid(1), Reason: long},
		&PartitionReport{},
		&PartitionReport{Service: long, Reporter: []byte("r"), Fresh: true, Partitions: many},
		&PartitionAck{},
		&ViewRequest{},
		&ViewRequest{Service: []byte("autoheal"), Round: long},
		&ViewReply{},
		&ViewReply{Healing: true, Running: many, Stopped: [][]byte{{}, {}}, Partitions: many, Heal: HealFailed, HealError: long},
		&HealOrder{},
		&HealOrder{Service: []byte("s"), Victims: many, Reason: long},
		&HealReply{},
		&HealReply{Accepted: true, Reason: []byte("x")},
		&Reachability{},
		&Reachability{Service: []byte("splitbrain"), Strategy: []byte("down-all"), Entries: []ReachEntry{{Node: long, Version: math.MaxUint64, Serving: true, Reach: many}, {}}},
		&LockAcquire{Kind: LockAll, LeaseMillis: math.MaxUint32},
		&LockAcquire{Kind: LockLocal},
		&LockRelease{Owner: []byte("o")},
		&LockRenew{},
		&LockGrant{Token: math.MaxUint64},
		&LockRefuse{Reason: LockExhausted, LeaseMillis: math.MaxUint32},
		&LockRefuse{Reason: LockNotHeld},
		&LockFence{Token: math.MaxUint64},
		&LockReleased{},
	}
}

func TestRoundTrip(t *testing.T) {
	var msgs []Message
	for _, c := range goldenCases() {
		msgs = append(msgs, c.msg)
	}
	msgs = append(msgs, edgeCases()...)
	for i, want := range msgs {
		t.Run(fmt.Sprintf("%d-%s", i, want.Type()), func(t *testing.T) {
			body := want.Append(nil)
			got, ok := New(want.Type())
			if !ok {
				t.Fatalf("New(%s) does not know the type", want.Type())
			}
			noErr(t, got.Decode(body), "Decode")
			sameValue(t, want, got, "decoded")
			sameBytes(t, body, got.Append(nil), "re-encoded")
			// Append appends: it keeps what dst held.
			sameBytes(t, append([]byte("xyz"), body...), want.Append([]byte("xyz")), "appended to a prefix")
		})
	}
}

// Decoding into a message that held a longer list must not leave old entries.
func TestDecodeReusesLists(t *testing.T) {
	big := &ViewReply{Running: [][]byte{[]byte("a"), []byte("b"), []byte("c")}, Stopped: [][]byte{[]byte("d")}, Partitions: [][]byte{[]byte("d")}}
	small := &ViewReply{Running: [][]byte{[]byte("x")}}
	var m ViewReply
	noErr(t, m.Decode(big.Append(nil)), "big")
	noErr(t, m.Decode(small.Append(nil)), "small")
	sameValue(t, small, &m, "after reuse")

	var mt MemberTable
	noErr(t, mt.Decode(goldenCases()[12].msg.Append(nil)), "member table")
	noErr(t, mt.Decode((&MemberTable{}).Append(nil)), "empty member table")
	if len(mt.Members) != 0 {
		t.Fatalf("%d members left from the previous decode", len(mt.Members))
	}
	// A failed decode leaves no half-filled list behind.
	noErr(t, mt.Decode(goldenCases()[12].msg.Append(nil)), "member table")
	bad := goldenCases()[12].msg.Append(nil)
	if err := mt.Decode(bad[:len(bad)-1]); err == nil || len(mt.Members) != 0 {
		t.Fatalf("truncated table: err %v, %d members left", err, len(mt.Members))
	}
}

// Every strict prefix of a valid body either fails with a truncated or
// malformed *FrameError of the right type, or (for bodies that end in a
// rest field) decodes to something that re-encodes to exactly that prefix.
func TestDecodeEveryPrefix(t *testing.T) {
	for _, c := range goldenCases() {
		body := c.msg.Append(nil)
		for n := range len(body) {
			m, _ := New(c.msg.Type())
			err := m.Decode(body[:n])
			if err == nil {
				sameBytes(t, body[:n], m.Append(nil), fmt.Sprintf("%s prefix %d re-encoded", c.name, n))
				continue
			}
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Type != c.msg.Type() || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("%s prefix %d: got %v, want a truncated or malformed %s *FrameError", c.name, n, err, c.msg.Type())
			}
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	golden := map[string][]byte{}
	for _, c := range goldenCases() {
		golden[c.name] = c.msg.Append(nil)
	}
	with := func(name string, extra ...byte) []byte { return append(bytes.Clone(golden[name]), extra...) }
	patch := func(name string, at int, v byte) []byte {
		b := bytes.Clone(golden[name])
		if at < 0 {
			at += len(b)
		}
		b[at] = v
		return b
	}
	// Offsets of the status byte in the golden member table: count(2),
	// then name(2+4), guid(16).
	const firstStatus = 2 + 2 + 4 + GUIDSize
	cases := []struct {
		name string
		t    Type
		body []byte
		want error
		text string
	}{
		{"ping trailing byte", TypePing, with("ping", 0), ErrMalformed, "1 trailing bytes"},
		{"ping short", TypePing, golden["ping"][:7], ErrTruncated, "send time"},
		{"pong empty", TypePong, nil, ErrTruncated, "send time"},
		{"join trailing", TypeJoin, with("join", 1, 2), ErrMalformed, "2 trailing bytes"},
		{"join short guid", TypeJoin, golden["join"][:10], ErrTruncated, "guid"},
		{"leave name longer than body", TypeLeave, []byte{0xff, 0xff, 'a'}, ErrTruncated, "node"},
		{"force-leave missing by", TypeForceLeave, golden["force_leave"][:6], ErrTruncated, "by"},
		{"member-status 0", TypeMemberStatus, patch("member_status", -1, 0), ErrMalformed, "status is 0"},
		{"member-status 6", TypeMemberStatus, patch("member_status", -1, 6), ErrMalformed, "status is 6"},
		{"member-status 255", TypeMemberStatus, patch("member_status", -1, 255), ErrMalformed, "want 1..5"},
		{"member-status trailing", TypeMemberStatus, with("member_status", 2), ErrMalformed, "trailing"},
		{"member-table unknown status", TypeMemberTable, patch("member_table", firstStatus, 9), ErrMalformed, "member status is 9"},
		{"member-table count above entries", TypeMemberTable, patch("member_table", 1, 3), ErrTruncated, "members"},
		{"member-table huge count", TypeMemberTable, []byte{0xff, 0xff}, ErrTruncated, "members"},
		{"member-table trailing", TypeMemberTable, with("member_table", 0), ErrMalformed, "trailing"},
		{"member-table count below entries", TypeMemberTable, patch("member_table", 1, 1), ErrMalformed, "trailing"},
		{"member-table no count", TypeMemberTable, nil, ErrTruncated, "member count"},
		{"partition-report no service", TypePartitionReport, nil, ErrTruncated, "service"},
		{"partition-report short", TypePartitionReport, golden["partition_report"][:16], ErrTruncated, "fresh"},
		{"partition-report fresh 2", TypePartitionReport, patch("partition_report", 16, 2), ErrMalformed, "fresh is 2, want 0 or 1"},
		{"partition-report trailing", TypePartitionReport, with("partition_report", 0), ErrMalformed, "trailing"},
		{"reachability no service", TypeReachability, nil, ErrTruncated, "service"},
		{"reachability serving 2", TypeReachability, patch("reachability", 2+10+2+13+2+2+4+8, 2), ErrMalformed, "entry serving is 2, want 0 or 1"},
		{"reachability huge entry count", TypeReachability, append(bytes.Clone(golden["reachability"][:2+10+2+13]), 0xff, 0xff), ErrTruncated, "entries"},
		{"reachability trailing", TypeReachability, with("reachability", 0), ErrMalformed, "trailing"},
		{"partition-ack empty", TypePartitionAck, nil, ErrTruncated, "node"},
		{"partition-ack trailing", TypePartitionAck, with("partition_ack", 0), ErrMalformed, "trailing"},
		{"view-request no round", TypeViewRequest, golden["view_request"][:10], ErrTruncated, "round"},
		{"view-request trailing", TypeViewRequest, with("view_request", 0), ErrMalformed, "trailing"},
		{"view-reply short guid", TypeViewReply, golden["view_reply"][:10], ErrTruncated, "guid"},
		{"view-reply healing 7", TypeViewReply, patch("view_reply", 2+4+16, 7), ErrMalformed, "healing is 7"},
		{"view-reply huge running count", TypeViewReply, append(bytes.Clone(golden["view_reply"][:2+4+16+1]), 0xff, 0xff), ErrTruncated, "running"},
		{"view-reply missing partitions", TypeViewReply, golden["view_reply"][:2+4+16+1+8+14], ErrTruncated, "partitions count"},
		{"view-reply heal state 4", TypeViewReply, patch("view_reply", 2+4+16+1+8+14+8, 4), ErrMalformed, "heal state is 4"},
		{"heal-order victim cut", TypeHealOrder, golden["heal_order"][:2+8+2+6+2+4+2+4+2+3], ErrTruncated, "victims"},
		{"heal-reply empty", TypeHealReply, nil, ErrTruncated, "accepted"},
		{"heal-reply accepted 2", TypeHealReply, []byte{2}, ErrMalformed, "accepted is 2"},
		{"lock-acquire type 5", TypeLockAcquire, patch("lock_acquire", -5, 5), ErrMalformed, "lock type is 5"},
		{"lock-acquire type 0", TypeLockAcquire, patch("lock_acquire", -5, 0), ErrMalformed, "lock type is 0, want 1..4"},
		{"lock-acquire trailing", TypeLockAcquire, with("lock_acquire", 0), ErrMalformed, "trailing"},
		{"lock-acquire short lease", TypeLockAcquire, golden["lock_acquire"][:len(golden["lock_acquire"])-1], ErrTruncated, "lease"},
		{"lock-release trailing", TypeLockRelease, with("lock_release", 0), ErrMalformed, "trailing"},
		{"lock-renew short", TypeLockRenew, golden["lock_renew"][:3], ErrTruncated, "locker"},
		{"lock-grant trailing", TypeLockGrant, with("lock_grant", 0), ErrMalformed, "trailing"},
		{"lock-grant unknown flag", TypeLockGrant, patch("lock_grant", -1, 3), ErrMalformed, "flags are 0x03"},
		{"lock-grant no flags", TypeLockGrant, golden["lock_grant"][:len(golden["lock_grant"])-1], ErrTruncated, "flags"},
		{"lock-refuse no refusal", TypeLockRefuse, golden["lock_refuse"][:7], ErrTruncated, "refusal"},
		{"lock-refuse refusal 0", TypeLockRefuse, patch("lock_refuse", 7, 0), ErrMalformed, "refusal is 0"},
		{"lock-refuse refusal 4", TypeLockRefuse, patch("lock_refuse", 7, 4), ErrMalformed, "want 1..3"},
		{"lock-refuse short lease", TypeLockRefuse, golden["lock_refuse"][:len(golden["lock_refuse"])-2], ErrTruncated, "lease"},
		{"lock-fence short token", TypeLockFence, golden["lock_fence"][:len(golden["lock_fence"])-1], ErrTruncated, "fencing token"},
		{"lock-fence trailing", TypeLockFence, with("lock_fence", 0), ErrMalformed, "trailing"},
		{"lock-released trailing", TypeLockReleased, with("lock_released", 0), ErrMalformed, "trailing"},
		{"hello min above max", TypeHello, patch("hello", 0, 3), ErrMalformed, "min version 3 above max version 2"},
		{"hello trailing", TypeHello, with("hello", 0), ErrMalformed, "trailing"},
		{"challenge short nonce", TypeChallenge, golden["challenge"][:30], ErrTruncated, "nonce"},
		{"auth short", TypeAuth, golden["auth"][:31], ErrTruncated, "proof"},
		{"welcome trailing", TypeWelcome, with("welcome", 0), ErrMalformed, "trailing"},
		{"reject no code", TypeReject, []byte{8}, ErrTruncated, "code"},
		{"call method cut", TypeCall, []byte{0, 0, 0, 1, 0, 5, 'a'}, ErrTruncated, "method"},
		{"cast empty", TypeCast, nil, ErrTruncated, "method"},
		{"error-reply empty", TypeErrorReply, nil, ErrTruncated, "code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBody(Header{Type: c.t}, c.body)
			var fe *FrameError
			if !errors.Is(err, c.want) || !errors.As(err, &fe) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if fe.Type != c.t {
				t.Fatalf("error names type %s, want %s", fe.Type, c.t)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %q does not mention %q", err, c.text)
			}
		})
	}
}

func TestNewKnowsEveryType(t *testing.T) {
	for i := range 256 {
		typ := Type(i)
		m, ok := New(typ)
		if ok != typ.Known() {
			t.Fatalf("New(%s) ok=%v, Known()=%v", typ, ok, typ.Known())
		}
		if ok && m.Type() != typ {
			t.Fatalf("New(%s) returned a %s message", typ, m.Type())
		}
		if m2, _ := New(typ); ok && m == m2 {
			t.Fatalf("New(%s) returned the same message twice", typ)
		}
	}
}

func TestTypeTableRoles(t *testing.T) {
	names := map[string]Type{}
	for i := range 256 {
		typ := Type(i)
		if !typ.Known() {
			if typ.IsAnswer() || typ.IsService() {
				t.Fatalf("%s: an unknown type has a role", typ)
			}
			continue
		}
		if typ.IsAnswer() && typ.IsService() {
			t.Fatalf("%s is both an answer and a service request", typ)
		}
		if other, dup := names[typ.String()]; dup {
			t.Fatalf("%s and %#02x share the name %q", typ, uint8(other), typ.String())
		}
		names[typ.String()] = typ
	}
	for _, typ := range []Type{TypeReply, TypeErrorReply, TypeViewReply, TypeLockGrant, TypeLockRefuse, TypeLockReleased} {
		if !typ.IsAnswer() {
			t.Errorf("%s should answer a request", typ)
		}
	}
	for _, typ := range []Type{TypeLockAcquire, TypeLockRelease, TypeLockRenew, TypeLockFence, TypePartitionReport, TypeViewRequest, TypeHealOrder} {
		if !typ.IsService() {
			t.Errorf("%s should be routed to a service", typ)
		}
	}
}

func TestDecodeBodyUnknownTypes(t *testing.T) {
	m, err := DecodeBody(Header{Type: 0x7f}, []byte("whatever"))
	var fe *FrameError
	if m != nil || !errors.Is(err, ErrUnknownType) || !errors.As(err, &fe) || fe.Type != 0x7f {
		t.Fatalf("unknown critical type: got %v, %v; want ErrUnknownType naming the type", m, err)
	}
	if !strings.Contains(err.Error(), "0x7f") {
		t.Fatalf("error %q does not name the type", err)
	}
	for _, typ := range []Type{0x84, 0xc3, 0xff} {
		m, err := DecodeBody(Header{Type: typ}, []byte("whatever"))
		if m != nil || err != nil {
			t.Fatalf("unknown optional type %s: got %v, %v; want nil, nil (skip)", typ, m, err)
		}
	}
}

func TestStatusAndLockTypeNames(t *testing.T) {
	names := map[Status]string{StatusJoining: "joining", StatusUp: "up", StatusHealing: "healing", StatusLeaving: "leaving", StatusDown: "down"}
	for s, want := range names {
		if !s.Valid() || s.String() != want {
			t.Fatalf("status %d: Valid=%v String=%q, want valid %q", uint8(s), s.Valid(), s.String(), want)
		}
	}
	for _, s := range []Status{0, 6, 255} {
		if s.Valid() || s.String() != fmt.Sprintf("status(%d)", uint8(s)) {
			t.Fatalf("status %d: Valid=%v String=%q", uint8(s), s.Valid(), s.String())
		}
	}
	lnames := map[LockType]string{LockLocal: "local", LockLeader: "leader", LockQuorum: "quorum", LockAll: "all"}
	for l, want := range lnames {
		if !l.Valid() || l.String() != want {
			t.Fatalf("lock type %d: Valid=%v String=%q, want valid %q", uint8(l), l.Valid(), l.String(), want)
		}
	}
	for _, l := range []LockType{0, 5, 255} {
		if l.Valid() || l.String() != fmt.Sprintf("lock-type(%d)", uint8(l)) {
			t.Fatalf("lock type %d: Valid=%v String=%q, want invalid", uint8(l), l.Valid(), l.String())
		}
	}
	for l, name := range lnames {
		for _, s := range []string{name, strings.ToUpper(name)} {
			if got, err := ParseLockType(s); err != nil || got != l {
				t.Fatalf("ParseLockType(%q): %v, %v; want %v", s, got, err, l)
			}
		}
		text, err := l.MarshalText()
		var back LockType
		if err != nil || string(text) != name || back.UnmarshalText(text) != nil || back != l {
			t.Fatalf("lock type %v as text: %q, %v; read back %v", l, text, err, back)
		}
	}
	if _, err := ParseLockType("global"); err == nil || !strings.Contains(err.Error(), `"global", want local, leader, quorum or all`) {
		t.Fatalf("ParseLockType(global): %v, want an error naming the choices", err)
	}
	if _, err := LockType(9).MarshalText(); err == nil {
		t.Fatal("lock type 9 marshalled as text, want an error")
	}
	var zero LockType
	if text, err := zero.MarshalText(); err != nil || len(text) != 0 || zero.UnmarshalText(nil) != nil || zero != 0 {
		t.Fatalf("the zero lock type as text: %q, %v; want empty both ways", text, err)
	}
}

// TestMemberServicesBytes pins the MemberServices layout of PROTOCOL.md
// 6.4: str16 node, 16-byte GUID, list16 services.
func TestMemberServicesBytes(t *testing.T) {
	m := &MemberServices{Node: []byte("a@h"), GUID: guid(0x10), Services: [][]byte{[]byte("autoheal"), []byte("x")}}
	want := []byte{0, 3, 'a', '@', 'h'}
	want = append(want, seq(0x10, GUIDSize)...)
	want = append(want, 0, 2, 0, 8, 'a', 'u', 't', 'o', 'h', 'e', 'a', 'l', 0, 1, 'x')
	sameBytes(t, want, m.Append(nil), "MemberServices")
	if !TypeMemberServices.Known() || TypeMemberServices.Critical() {
		t.Fatalf("%s: Known=%v Critical=%v, want a known optional type", TypeMemberServices, TypeMemberServices.Known(), TypeMemberServices.Critical())
	}
}

// TestMemberVersionBytes pins the MemberVersion layout of PROTOCOL.md 6.4:
// a type of its own, optional, so a node that predates it skips it.
func TestMemberVersionBytes(t *testing.T) {
	m := &MemberVersion{Node: []byte("a@h"), GUID: guid(0x10), Version: []byte("v1.2.3")}
	g := guid(0x10)
	want := append(append([]byte{0, 3, 'a', '@', 'h'}, g[:]...), 0, 6, 'v', '1', '.', '2', '.', '3')
	sameBytes(t, want, m.Append(nil), "MemberVersion")
	if !TypeMemberVersion.Known() || TypeMemberVersion.Critical() {
		t.Fatalf("%s: Known=%v Critical=%v, want a known optional type", TypeMemberVersion, TypeMemberVersion.Known(), TypeMemberVersion.Critical())
	}
	var d MemberVersion
	noErr(t, d.Decode(want), "decoding MemberVersion")
	if string(d.Node) != "a@h" || d.GUID != g || string(d.Version) != "v1.2.3" {
		t.Fatalf("decoded %+v", d)
	}
	for _, tt := range []struct {
		name string
		body []byte
		want error
		msg  string
	}{
		{"version cut short", want[:len(want)-2], ErrTruncated, "version"},
		{"no version", want[:len(want)-8], ErrTruncated, "version"},
		{"bytes after the version", append(slices.Clone(want), 'x'), ErrMalformed, "1 trailing bytes"},
	} {
		err := new(MemberVersion).Decode(tt.body)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Decode = %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	long := &MemberVersion{Version: make([]byte, MaxStr16+1)}
	if err := long.Validate(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "version is 65536 bytes") {
		t.Errorf("Validate of a 65536-byte version = %v, want ErrTooLarge naming the version", err)
	}
}

// TestMemberTagsBytes pins the MemberTags layout of PROTOCOL.md 6.4: an
// optional type, so a node that predates it skips it, whose forged count
// or cut body is refused.
func TestMemberTagsBytes(t *testing.T) {
	m := &MemberTags{Node: []byte("a@h"), GUID: guid(0x10), Tags: []Tag{{[]byte("role"), []byte("db")}}}
	g := guid(0x10)
	want := append(append([]byte{0, 3, 'a', '@', 'h'}, g[:]...), 0, 1, 0, 4, 'r', 'o', 'l', 'e', 0, 2, 'd', 'b')
	sameBytes(t, want, m.Append(nil), "MemberTags")
	if !TypeMemberTags.Known() || TypeMemberTags.Critical() {
		t.Fatalf("%s: Known=%v Critical=%v, want a known optional type", TypeMemberTags, TypeMemberTags.Known(), TypeMemberTags.Critical())
	}
	var d MemberTags
	noErr(t, d.Decode(want), "decoding MemberTags")
	if string(d.Node) != "a@h" || d.GUID != g || len(d.Tags) != 1 || string(d.Tags[0].Key) != "role" || string(d.Tags[0].Value) != "db" {
		t.Fatalf("decoded %+v", d)
	}
	forged := slices.Clone(want)
	forged[5+GUIDSize+1] = 0xff // count 255 with one tag's bytes
	for _, tt := range []struct {
		name string
		body []byte
		want error
		msg  string
	}{
		{"value cut short", want[:len(want)-1], ErrTruncated, "tag value"},
		{"no value", want[:len(want)-4], ErrTruncated, "tag value"},
		{"forged count", forged, ErrTruncated, "tags"},
		{"bytes after the tags", append(slices.Clone(want), 'x'), ErrMalformed, "1 trailing bytes"},
	} {
		err := new(MemberTags).Decode(tt.body)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Decode = %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	for _, tt := range []struct {
		m   *MemberTags
		msg string
	}{
		{&MemberTags{Tags: make([]Tag, MaxTags+1)}, "65536 tags"},
		{&MemberTags{Tags: []Tag{{Key: make([]byte, MaxStr16+1)}}}, "tag 0 key is 65536"},
		{&MemberTags{Tags: []Tag{{Value: make([]byte, MaxStr16+1)}}}, "tag 0 value is 65536"},
		{&MemberTags{Node: make([]byte, MaxStr16+1)}, "node is 65536"},
	} {
		if err := tt.m.Validate(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Validate = %v, want ErrTooLarge containing %q", err, tt.msg)
		}
	}
	if err := (&MemberTags{Tags: make([]Tag, MaxTags)}).Validate(); err != nil {
		t.Errorf("Validate of %d tags = %v, want nil", MaxTags, err)
	}
}

// TestMemberTagsSkippedByAnOlderNode: a node that predates MemberTags does
// not know type 0x82, so it sees it as this version sees 0x84: an optional
// type it skips (DecodeBody answers nil, nil) and the link stays.
func TestMemberTagsSkippedByAnOlderNode(t *testing.T) {
	frame := readHex(t, "member_tags")
	h, err := ParseHeader(frame[:HeaderSize], DefaultMaxPayload)
	noErr(t, err, "the golden member_tags header")
	if h.Type != TypeMemberTags || h.Type.Critical() {
		t.Fatalf("member_tags.hex has type %s (critical %v), want the optional %s", h.Type, h.Type.Critical(), TypeMemberTags)
	}
	unknown := Type(0x84)
	if unknown.Known() {
		t.Fatalf("%s is defined now; pick a type no version defines", unknown)
	}
	h.Type = unknown
	m, err := DecodeBody(h, frame[HeaderSize:])
	if m != nil || err != nil {
		t.Fatalf("a node that does not know the type: DecodeBody = %v, %v; want nil, nil (skip)", m, err)
	}
}

// TestEncodersRefuseWhatDecodersCannotRead: every membership body checks its
// 16-bit counts and lengths (and its statuses) before it is encoded, so a
// node never sends what its peers would reject as malformed. Each limit is
// tested on both sides of its edge.
func TestEncodersRefuseWhatDecodersCannotRead(t *testing.T) {
	name := func(n int) []byte { return bytes.Repeat([]byte{'n'}, n) }
	table := func(n int) *MemberTable {
		mt := &MemberTable{Members: make([]MemberEntry, n)}
		for i := range mt.Members {
			mt.Members[i] = MemberEntry{Status: StatusUp}
		}
		return mt
	}
	services := func(n int) [][]byte { return make([][]byte, n) }
	tests := []struct {
		name string
		msg  Message
		err  error  // nil: encodes and decodes back
		want string // substring of the error
	}{
		{"table of 65535 members", table(MaxMembers), nil, ""},
		{"table of 65536 members", table(MaxMembers + 1), ErrTooLarge, "65536 members; a member table holds at most 65535"},
		{"table member name of 65535 bytes", &MemberTable{Members: []MemberEntry{{Name: name(MaxStr16), Status: StatusUp}}}, nil, ""},
		{"table member name of 65536 bytes", &MemberTable{Members: []MemberEntry{{Name: name(MaxStr16 + 1), Status: StatusUp}}}, ErrTooLarge, "member 0 name is 65536 bytes long"},
		{"table member with status 0", &MemberTable{Members: []MemberEntry{{Name: []byte("a@h")}}}, ErrMalformed, "status is 0"},
		{"table member with status 6", &MemberTable{Members: []MemberEntry{{Name: []byte("a@h"), Status: 6}}}, ErrMalformed, "status is 6"},
		{"join name of 65535 bytes", &Join{Node: name(MaxStr16)}, nil, ""},
		{"join name of 65536 bytes", &Join{Node: name(MaxStr16 + 1)}, ErrTooLarge, "node is 65536 bytes long"},
		{"leave name of 65536 bytes", &Leave{Node: name(MaxStr16 + 1)}, ErrTooLarge, "node is 65536 bytes long"},
		{"force-leave node of 65536 bytes", &ForceLeave{Node: name(MaxStr16 + 1)}, ErrTooLarge, "node is 65536"},
		{"force-leave by of 65536 bytes", &ForceLeave{Node: []byte("a@h"), By: name(MaxStr16 + 1)}, ErrTooLarge, "by is 65536"},
		{"status name of 65535 bytes", &MemberStatus{Node: name(MaxStr16), Status: StatusUp}, nil, ""},
		{"status name of 65536 bytes", &MemberStatus{Node: name(MaxStr16 + 1), Status: StatusUp}, ErrTooLarge, "65536"},
		{"status 0", &MemberStatus{Node: []byte("a@h")}, ErrMalformed, "status is 0"},
		{"65535 services", &MemberServices{Services: services(MaxServices)}, nil, ""},
		{"65536 services", &MemberServices{Services: services(MaxServices + 1)}, ErrTooLarge, "65536 services"},
		{"service of 65536 bytes", &MemberServices{Services: [][]byte{name(MaxStr16 + 1)}}, ErrTooLarge, "service 0 is 65536"},
		{"services node of 65536 bytes", &MemberServices{Node: name(MaxStr16 + 1)}, ErrTooLarge, "node is 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("xyz")
			out, err := AppendValid(prefix, tt.msg)
			if tt.err == nil {
				noErr(t, err, "AppendValid")
				got, _ := New(tt.msg.Type())
				noErr(t, got.Decode(out[len(prefix):]), "Decode of what AppendValid wrote")
				sameValue(t, tt.msg, got, "decoded")
				return
			}
			var fe *FrameError
			if !errors.Is(err, tt.err) || !errors.As(err, &fe) || fe.Type != tt.msg.Type() || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AppendValid = %v, want %v for a %s body mentioning %q", err, tt.err, tt.msg.Type(), tt.want)
			}
			sameBytes(t, prefix, out, "dst after a refusal")
		})
	}
}

// TestMemberSuspendedBytes pins the MemberSuspended layout of PROTOCOL.md
// 6.4: an optional type, refused when cut short or followed by bytes.
func TestMemberSuspendedBytes(t *testing.T) {
	m := &MemberSuspended{Node: []byte("a@h"), GUID: guid(0x10), Reason: []byte("lost")}
	g := guid(0x10)
	want := append(append([]byte{0, 3, 'a', '@', 'h'}, g[:]...), 0, 4, 'l', 'o', 's', 't')
	sameBytes(t, want, m.Append(nil), "MemberSuspended")
	if !TypeMemberSuspended.Known() || TypeMemberSuspended.Critical() {
		t.Fatalf("%s: Known=%v Critical=%v, want a known optional type", TypeMemberSuspended, TypeMemberSuspended.Known(), TypeMemberSuspended.Critical())
	}
	var d MemberSuspended
	noErr(t, d.Decode(want), "decoding MemberSuspended")
	if string(d.Node) != "a@h" || d.GUID != g || string(d.Reason) != "lost" {
		t.Fatalf("decoded %+v", d)
	}
	serving := (&MemberSuspended{Node: []byte("a@h"), GUID: g}).Append(nil)
	noErr(t, d.Decode(serving), "decoding a MemberSuspended that says the node serves")
	if len(d.Reason) != 0 {
		t.Fatalf("decoded reason %q, want empty (serving)", d.Reason)
	}
	for _, tt := range []struct {
		name string
		body []byte
		want error
		msg  string
	}{
		{"reason cut short", want[:len(want)-1], ErrTruncated, "reason"},
		{"no reason", want[:len(want)-6], ErrTruncated, "reason"},
		{"guid cut short", want[:10], ErrTruncated, "guid"},
		{"bytes after the reason", append(slices.Clone(want), 'x'), ErrMalformed, "1 trailing bytes"},
	} {
		err := new(MemberSuspended).Decode(tt.body)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Decode = %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	for _, tt := range []struct {
		m   *MemberSuspended
		msg string
	}{
		{&MemberSuspended{Reason: make([]byte, MaxStr16+1)}, "reason is 65536"},
		{&MemberSuspended{Node: make([]byte, MaxStr16+1)}, "node is 65536"},
	} {
		if err := tt.m.Validate(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Validate = %v, want ErrTooLarge containing %q", err, tt.msg)
		}
	}
}
