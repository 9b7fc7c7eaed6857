package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// limitsOf is c with only the fields node.limits.* and the cluster's
// membership keys set, so that tests compare those and nothing else.
func limitsOf(c mesh.Config) mesh.Config {
	return mesh.Config{
		MaxMessage: c.MaxMessage, LaneBudget: c.LaneBudget, StallTimeout: c.StallTimeout, MinDrainRate: c.MinDrainRate,
		MaxReassemblyPerLink: c.MaxReassemblyPerLink, MaxReassemblyPerNode: c.MaxReassemblyPerNode, ChunkTimeout: c.ChunkTimeout,
		MaxServingCalls: c.MaxServingCalls, MaxServingBytes: c.MaxServingBytes, MaxCastQueue: c.MaxCastQueue, MaxCastQueueBytes: c.MaxCastQueueBytes,
		MaxHandshakes: c.MaxHandshakes, MaxHandshakesPerAddr: c.MaxHandshakesPerAddr, MaxListenerConns: c.MaxListenerConns,
		MaxIncompleteLinksPerPeer: c.MaxIncompleteLinksPerPeer, FirstByteTimeout: c.FirstByteTimeout, RefusalLogInterval: c.RefusalLogInterval,
		MaxMembers: c.MaxMembers, LearnRate: c.LearnRate, LearnBurst: c.LearnBurst, ForgetUnreached: c.ForgetUnreached, RedialRate: c.RedialRate,
	}
}

// The defaults of config (what the example file and ekka-mesh run --help
// show, and what a node without these keys runs with) are the defaults
// mesh and conn fill in for a zero field, so the two cannot drift apart.
func TestLimitDefaultsAreMeshDefaults(t *testing.T) {
	s := config.Defaults()
	s.Node.Cookie = "limits-test-cookie-0123456789"
	cfg, err := meshConfig(s)
	require.NoError(t, err)

	// mesh fills a zero MaxReassemblyPerLink with MaxMessage (one message
	// at the limit) and a zero MaxReassemblyPerNode with twice MaxMessage
	// (mesh/limits.go, limitDefaults); conn's defaults say the same.
	maxMessage := int64(conn.DefaultMaxMessage)
	assert.Equal(t, int64(conn.DefaultMaxReassembly), maxMessage, "conn's per-link reassembly default")
	assert.Equal(t, int64(conn.DefaultNodeReassembly), 2*maxMessage, "conn's per-node reassembly default")

	d := mesh.DefaultConfig()
	want := mesh.Config{
		MaxMessage:           conn.DefaultMaxMessage,
		LaneBudget:           conn.DefaultLaneBudget,
		StallTimeout:         conn.DefaultStallTimeout,
		MinDrainRate:         conn.DefaultMinDrainRate,
		MaxReassemblyPerLink: maxMessage,
		MaxReassemblyPerNode: 2 * maxMessage,
		ChunkTimeout:         conn.DefaultChunkTimeout,
		MaxServingCalls:      mesh.DefaultMaxServingCalls,
		MaxServingBytes:      mesh.DefaultMaxServingBytes,
		MaxCastQueue:         mesh.DefaultMaxCastQueue,
		MaxCastQueueBytes:    mesh.DefaultMaxCastQueueBytes,
		// conn's admission defaults are unexported (conn/listener.go);
		// these are the values its Config documents.
		MaxHandshakes:             2048,
		MaxHandshakesPerAddr:      1024,
		MaxListenerConns:          0, // auto: from the descriptor limit
		MaxIncompleteLinksPerPeer: 4,
		FirstByteTimeout:          2 * time.Second,
		RefusalLogInterval:        10 * time.Second,
		MaxMembers:                d.MaxMembers,
		LearnRate:                 d.LearnRate,
		LearnBurst:                d.LearnBurst,
		ForgetUnreached:           d.ForgetUnreached,
		RedialRate:                d.RedialRate,
	}
	assert.Equal(t, want, limitsOf(cfg))
	assert.Equal(t, mesh.DefaultMaxMembers, cfg.MaxMembers)
	assert.Equal(t, mesh.DefaultLearnRate, cfg.LearnRate)
	assert.Equal(t, mesh.DefaultLearnBurst, cfg.LearnBurst)
	assert.Equal(t, mesh.DefaultForgetUnreached, cfg.ForgetUnreached)
	assert.Equal(t, mesh.DefaultRedialRate, cfg.RedialRate)
}

func TestLimitKeysMapToMeshConfig(t *testing.T) {
	s, err := config.Load("", []string{
		"node.cookie=limits-test-cookie-0123456789",
		"node.limits.max_message=16MB",
		"node.limits.lane_budget=1MB",
		"node.limits.stall_timeout=10s",
		"node.limits.min_drain_rate=64KB",
		"node.limits.reassembly_per_link=32MB",
		"node.limits.reassembly_per_node=1GB",
		"node.limits.chunk_timeout=5s",
		"node.limits.serving_calls=64",
		"node.limits.serving_bytes=8MB",
		"node.limits.cast_queue=128",
		"node.limits.cast_queue_bytes=2MB",
		"node.limits.handshakes=300",
		"node.limits.handshakes_per_addr=20",
		"node.limits.listener_conns=500",
		"node.limits.incomplete_links_per_peer=2",
		"node.limits.first_byte_timeout=500ms",
		"node.limits.refusal_log_interval=1m",
		"cluster.max_members=5000",
		"cluster.learn_rate=12.5",
		"cluster.learn_burst=50",
		"cluster.forget_unreached=2m",
		"cluster.redial_rate=40",
	}, nil)
	require.NoError(t, err)
	cfg, err := meshConfig(s)
	require.NoError(t, err)
	assert.Equal(t, mesh.Config{
		MaxMessage: 16 << 20, LaneBudget: 1 << 20, StallTimeout: 10 * time.Second, MinDrainRate: 64 << 10,
		MaxReassemblyPerLink: 32 << 20, MaxReassemblyPerNode: 1 << 30, ChunkTimeout: 5 * time.Second,
		MaxServingCalls: 64, MaxServingBytes: 8 << 20, MaxCastQueue: 128, MaxCastQueueBytes: 2 << 20,
		MaxHandshakes: 300, MaxHandshakesPerAddr: 20, MaxListenerConns: 500, MaxIncompleteLinksPerPeer: 2,
		FirstByteTimeout: 500 * time.Millisecond, RefusalLogInterval: time.Minute,
		MaxMembers: 5000, LearnRate: 12.5, LearnBurst: 50, ForgetUnreached: 2 * time.Minute, RedialRate: 40,
	}, limitsOf(cfg))

	// off and auto.
	s, err = config.Load("", []string{"node.cookie=limits-test-cookie-0123456789", "cluster.forget_unreached=off", "node.limits.listener_conns=auto"}, nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	assert.Negative(t, cfg.ForgetUnreached, "cluster.forget_unreached = off is mesh's never (negative)")
	assert.Zero(t, cfg.MaxListenerConns, "node.limits.listener_conns = auto is mesh's default (zero)")
}

// Every value config accepts, mesh accepts too: the extremes of each
// key's range start a valid mesh.Config, and the message limit's range
// ends where mesh's does.
func TestLimitRangesFitMesh(t *testing.T) {
	maxCount := strconv.Itoa(1<<31 - 1)
	for _, overrides := range [][]string{
		{"node.limits.max_message=1", "node.limits.reassembly_per_link=1", "node.limits.reassembly_per_node=1",
			"node.limits.lane_budget=1", "node.limits.min_drain_rate=1", "node.limits.serving_calls=1", "node.limits.serving_bytes=1",
			"node.limits.cast_queue=1", "node.limits.cast_queue_bytes=1", "node.limits.handshakes=1", "node.limits.handshakes_per_addr=1",
			"node.limits.listener_conns=1", "node.limits.incomplete_links_per_peer=1", "node.limits.stall_timeout=1ns",
			"node.limits.chunk_timeout=1ns", "node.limits.first_byte_timeout=1ns", "node.limits.refusal_log_interval=1ns",
			"cluster.max_members=2", "cluster.learn_rate=0.001", "cluster.learn_burst=1", "cluster.forget_unreached=1ns", "cluster.redial_rate=0.001"},
		{"node.limits.max_message=256MB", "node.limits.reassembly_per_link=1024GB", "node.limits.reassembly_per_node=1024GB",
			"node.limits.lane_budget=1GB", "node.limits.min_drain_rate=1GB", "node.limits.serving_calls=" + maxCount, "node.limits.serving_bytes=1024GB",
			"node.limits.cast_queue=" + maxCount, "node.limits.cast_queue_bytes=1024GB", "node.limits.handshakes=" + maxCount,
			"node.limits.handshakes_per_addr=" + maxCount, "node.limits.listener_conns=" + maxCount, "node.limits.incomplete_links_per_peer=" + maxCount,
			"cluster.max_members=65535", "cluster.learn_rate=1000000", "cluster.learn_burst=" + maxCount, "cluster.redial_rate=1000000"},
	} {
		s, err := config.Load("", append([]string{"node.cookie=limits-test-cookie-0123456789"}, overrides...), nil)
		require.NoError(t, err, "%q", overrides)
		_, err = meshConfig(s)
		assert.NoError(t, err, "%q", overrides)
	}

	s := config.Defaults()
	assert.NoError(t, s.Set("node.limits.max_message", strconv.Itoa(conn.DefaultMaxMessage)))
	assert.Error(t, s.Set("node.limits.max_message", strconv.Itoa(conn.DefaultMaxMessage+1)), "config refuses a message limit above mesh's")
	cfg := mesh.DefaultConfig()
	cfg.Name, cfg.Cookie = "ekka@127.0.0.1", "limits-test-cookie-0123456789"
	cfg.MaxMessage = conn.DefaultMaxMessage + 1
	assert.Error(t, cfg.Validate(), "mesh refuses a message limit above conn.DefaultMaxMessage")
	assert.Error(t, s.Set("cluster.max_members", "65536"), "a member table counts at most 65535")
}
