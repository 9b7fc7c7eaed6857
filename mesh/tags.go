package mesh

// Tags: key/value pairs a node carries (role=db, zone=eu-1, version=3),
// set from Config.Tags and replaced at run time with SetTags. They travel
// to every member on a message of their own (MemberTags, optional: a node
// that predates it skips it), show in MemberInfo.Tags, raise a tags-changed
// event when a member's set changes, and select members: Select and
// MulticallTagged with a TagFilter.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

const (
	// MaxTags is the most tags a node carries.
	MaxTags = 32
	// MaxTagKeyLen is the longest tag key, in bytes.
	MaxTagKeyLen = 64
	// MaxTagValueLen is the longest tag value, in bytes.
	MaxTagValueLen = 256
)

// checkTagKey reports a key that is empty, longer than MaxTagKeyLen or
// holds a character outside [A-Za-z0-9_.-] (the rule of service names).
func checkTagKey(key string) error { return checkWord("tag key", key, MaxTagKeyLen) }

// checkTagValue reports a value longer than MaxTagValueLen or holding a
// byte outside printable ASCII, a space or a comma (which separates the
// pairs of a TagFilter), so that a peer's tags are safe to show and to
// select by.
func checkTagValue(key, value string) error {
	if len(value) > MaxTagValueLen {
		return fmt.Errorf("tag %s: value %.80q is %d bytes long, want at most %d", key, value, len(value), MaxTagValueLen)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return fmt.Errorf("tag %s: value %q: byte %d (%q) is not allowed, want printable ASCII without spaces or commas, such as eu-1", key, value, i+1, c)
		}
	}
	return nil
}

// checkTags reports the first bad key or value of tags, in key order, or
// more than MaxTags tags.
func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%d tags, want at most %d", len(tags), MaxTags)
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := checkTagKey(k); err != nil {
			return err
		}
		if err := checkTagValue(k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

// formatTags writes tags as k=v pairs sorted by key and joined by commas,
// the form ParseTagFilter reads; "" when there are none.
func formatTags(tags map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(tags)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}

// Tags returns a copy of this node's tags; nil when it has none.
func (n *Node) Tags() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return cloneTags(n.tags)
}

// cloneTags copies tags; nil when there are none.
func cloneTags(tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	return maps.Clone(tags)
}

// SetTags replaces this node's tags with tags (nil or empty clears them)
// and, when they changed, announces the new set to every member and
// publishes a tags-changed event for this node. Members that link later
// are told too. At most MaxTags tags; a key is 1 to MaxTagKeyLen bytes of
// A-Z a-z 0-9 _ . -, a value 0 to MaxTagValueLen bytes of printable ASCII
// without spaces or commas. ctx bounds the announcements: SetTags returns
// ctx's error when it ends before every member was told (the tags are set
// all the same; a member that was not told keeps the old set until its
// link to this node comes up again).
func (n *Node) SetTags(ctx context.Context, tags map[string]string) error {
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("mesh: SetTags: %w", err)
	}
	tellErr, err := n.changeSelf(ctx, wire.TypeMemberTags, func() ([]byte, error) {
		if maps.Equal(n.tags, tags) {
			return nil, nil
		}
		n.tags = cloneTags(tags)
		n.tagsTold = true
		n.table.setTags(n.cfg.Name, n.guid, n.tags)
		n.publishLocked(EventTagsChanged, n.cfg.Name, n.guid, tagsReason(n.tags))
		return n.tagsMessageLocked(), nil
	})
	if err != nil {
		return err
	}
	if tellErr != nil {
		return fmt.Errorf("mesh: SetTags: announcing the tags: %w", tellErr)
	}
	return nil
}

// tagsReason is the Reason of a tags-changed event.
func tagsReason(tags map[string]string) string {
	if len(tags) == 0 {
		return "tags cleared"
	}
	return "tags " + formatTags(tags)
}

// tagsMessageLocked is the body announcing this node's tags, sorted by key.
func (n *Node) tagsMessageLocked() []byte {
	m := wire.MemberTags{Node: []byte(n.cfg.Name), GUID: n.guid, Tags: make([]wire.Tag, 0, len(n.tags))}
	for _, k := range slices.Sorted(maps.Keys(n.tags)) {
		m.Tags = append(m.Tags, wire.Tag{Key: []byte(k), Value: []byte(n.tags[k])})
	}
	return m.Append(nil)
}

// announceTagsTo tells a newly adopted link this node's tags, once it has
// had any: a member that comes back after a partition may hold a set this
// node changed or cleared meanwhile. A node that never had tags sends
// nothing (its members record none).
func (n *Node) announceTagsTo(lk *link) {
	n.announceSelfTo(lk, wire.TypeMemberTags, func() []byte {
		if !n.tagsTold {
			return nil
		}
		return n.tagsMessageLocked()
	})
}

// memberTags records the tags a member announced over its own link and
// publishes a tags-changed event when they changed.
func (n *Node) memberTags(lk *link, m *wire.MemberTags) {
	tags, err := parseTags(m.Tags)
	if err != nil {
		n.log.Debug("ignored a bad tag set from a member", "peer", lk.peer, "err", err)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.table.setTags(lk.peer, lk.guid, tags) {
		n.publishLocked(EventTagsChanged, lk.peer, lk.guid, tagsReason(tags))
	}
}

// parseTags checks a tag set a peer announced: at most MaxTags, valid keys
// and values, no key twice.
func parseTags(list []wire.Tag) (map[string]string, error) {
	if len(list) > MaxTags {
		return nil, fmt.Errorf("%d tags, want at most %d", len(list), MaxTags)
	}
	tags := make(map[string]string, len(list))
	for _, tg := range list {
		k := string(tg.Key)
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tag key %q appears twice, want each key once", k)
		}
		tags[k] = string(tg.Value)
	}
	return tags, checkTags(tags)
}

// setTags records the tags node announced for its incarnation guid over
// its own link, and reports whether they changed; like setServices, a
// member this node is not linked to, or another incarnation, changes
// nothing. The recorded map is replaced, never changed in place.
func (t *memberTable) setTags(node string, guid GUID, tags map[string]string) bool {
	m, ok := t.members[node]
	if !ok || !m.linked || m.info.GUID != guid || maps.Equal(m.info.Tags, tags) {
		return false
	}
	m.info.Tags = cloneTags(tags)
	return true
}

// TagFilter selects nodes by their tags: a node matches when it carries
// every key of the filter with exactly the filter's value (other tags do
// not matter). The empty filter matches every node.
type TagFilter map[string]string

// ParseTagFilter reads a filter written as key=value pairs separated by
// commas, such as "role=db,zone=eu-1" (the form ekka-mesh ctl call --tags
// takes). A pair with an empty value ("role=") matches a node whose tag
// role is empty. Keys and values follow SetTags's rules, and a key may
// appear once.
func ParseTagFilter(s string) (TagFilter, error) {
	f := TagFilter{}
	if s == "" {
		return f, nil
	}
	for pair := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("mesh: tag filter %q: %q has no '=', want key=value pairs separated by commas, such as role=db,zone=eu-1", s, pair)
		}
		if _, dup := f[k]; dup {
			return nil, fmt.Errorf("mesh: tag filter %q: key %q appears twice, want each key once", s, k)
		}
		if err := checkTagKey(k); err != nil {
			return nil, fmt.Errorf("mesh: tag filter %q: %w", s, err)
		}
		if err := checkTagValue(k, v); err != nil {
			return nil, fmt.Errorf("mesh: tag filter %q: %w", s, err)
		}
		f[k] = v
	}
	return f, nil
}

// Match reports whether tags carry every pair of f.
func (f TagFilter) Match(tags map[string]string) bool {
	for k, v := range f {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// String writes f in the form ParseTagFilter reads, sorted by key.
func (f TagFilter) String() string { return formatTags(f) }

// Select returns the running members (this node included: every member not
// recorded down, as Info's RunningNodes) whose tags match f, sorted. It is
// never nil, so that passing it to Multicall never means "every member":
// no match is an empty list.
func (n *Node) Select(f TagFilter) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []string{}
	for _, m := range n.table.snapshot() {
		if m.Status != StatusDown && f.Match(m.Tags) {
			out = append(out, m.Node)
		}
	}
	return out
}

// MulticallTagged calls method on every running member whose tags match f
// (Select), this node included when it matches, as Multicall does. When no
// node matches, the result holds no reply and no error.
func (n *Node) MulticallTagged(ctx context.Context, f TagFilter, method string, payload []byte) MulticallResult {
	return n.Multicall(ctx, n.Select(f), method, payload)
}

// MethodTags is the built-in method behind ekka-mesh ctl tags: a
// TagsRequest with action "set" replaces the node's tags with its tags
// (SetTags; an admin action, logged), "get" or none reads them; the reply
// is a TagsReply.
const MethodTags = reservedPrefix + "tags"

// TagsRequest is MethodTags's request.
type TagsRequest struct {
	Action string            `json:"action,omitempty"` // "get" (or empty) or "set"
	Tags   map[string]string `json:"tags,omitempty"`   // the new tags of "set"; none clears them
}

// TagsReply is MethodTags's reply: the node and its tags after the action
// ({} when it has none).
type TagsReply struct {
	Node string            `json:"node"`
	Tags map[string]string `json:"tags"`
}

func (n *Node) registerTagsBuiltin() {
	n.handlers.set(MethodTags, func(ctx context.Context, from string, p []byte) ([]byte, error) {
		var req TagsRequest
		if len(p) > 0 {
			if err := json.Unmarshal(p, &req); err != nil {
				return nil, fmt.Errorf("bad request: %v (want a JSON object with \"action\" and \"tags\")", err)
			}
		}
		switch req.Action {
		case "", "get":
		case "set":
			err := n.SetTags(ctx, req.Tags)
			LogAdminAction(ctx, n.log, from, "tags", outcome(err), "tags", formatTags(req.Tags), "err", err)
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("bad request: \"action\" %q, want get or set", req.Action)
		}
		tags := n.Tags()
		if tags == nil {
			tags = map[string]string{}
		}
		return json.Marshal(TagsReply{Node: n.cfg.Name, Tags: tags})
	})
}
