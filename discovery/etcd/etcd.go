package etcd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// Defaults of Config.
const (
	DefaultPrefix         = "ekkacl"
	DefaultNodeTTL        = time.Minute
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultRetryInterval  = time.Second
)

// Config configures the strategy. Name, Cluster and Servers are required.
type Config struct {
	// Name is this node's name, short@host: the name it registers.
	Name string
	// Cluster is the cluster name; keys live under Prefix/Cluster/.
	Cluster string
	// Servers are the etcd client URLs, such as http://10.0.0.1:2379. All
	// http:// or all https://.
	Servers []string
	// Prefix is the first element of every key (default "ekkacl").
	Prefix string
	// NodeTTL is the lease of the registration, kept alive while the node
	// runs; a node that dies vanishes from etcd within it (default 1m;
	// at least 1s, rounded up to whole seconds).
	NodeTTL time.Duration
	// TLS is the client TLS configuration for https:// servers (see
	// LoadTLS); nil with https:// servers means the system roots and no
	// client certificate.
	TLS *tls.Config
	// DialTimeout bounds etcd's internal operations that have no context of
	// ours, such as the first keepalive of a lease (default 5s).
	DialTimeout time.Duration
	// RequestTimeout bounds each request to etcd, within the caller's
	// context (default 5s); the wait for the lock is bounded only by the
	// caller's context.
	RequestTimeout time.Duration
	// RetryInterval is the pause between attempts to register again after
	// the lease was lost, and to release a lock that etcd did not release
	// (default 1s).
	RetryInterval time.Duration
	// Logger receives what the strategy does on its own: registering again
	// after losing the lease, releasing a lock later (default: discard).
	Logger *slog.Logger
}

// Etcd is the etcd discovery strategy. Its methods are safe for concurrent
// use. The etcd client is created on first use and closed by Unregister or
// Close, after which every method fails.
type Etcd struct {
	cfg         Config
	ttl         int64  // NodeTTL in seconds
	nodesPrefix string // <prefix>/<cluster>/nodes/
	key         string // nodesPrefix + Name
	lockPrefix  string // <prefix>/<cluster>/lock
	endpoints   string // for error messages
	log         *slog.Logger

	ctx    context.Context // ends at Close; the client's and keepalives' context
	cancel context.CancelFunc
	wg     sync.WaitGroup // keepalive, re-register and lock goroutines

	leaseSem chan struct{} // serialises granting the lease
	lockSem  chan struct{} // held from Lock until the lock is released

	mu         sync.Mutex
	client     *clientv3.Client
	closed     bool
	lease      clientv3.LeaseID // 0: none
	session    *concurrency.Session
	held       *concurrency.Mutex // the lock, between Lock and Unlock
	registered bool               // between Register and Unregister
	down       bool               // the last request failed: etcd did not answer

	// keepAnswers counts the keepalive answers received, on any lease.
	// Until the first one, etcd's client reaps a silent lease after its
	// first-keepalive timeout (DialTimeout + 1s), not after the TTL;
	// tests wait for it.
	keepAnswers atomic.Int64
}

var _ discovery.Strategy = (*Etcd)(nil)

// errClosed is returned by every method after Unregister or Close.
var errClosed = errors.New("closed (after Unregister or Close)")

// New checks cfg, fills in its defaults and returns the strategy. It does
// not contact etcd: an unreachable etcd shows in the methods' errors.
func New(cfg Config) (*Etcd, error) {
	if err := checkName(cfg.Name); err != nil {
		return nil, fmt.Errorf("etcd discovery: node name %q: %w", cfg.Name, err)
	}
	if cfg.Cluster == "" || strings.ContainsAny(cfg.Cluster, "/ \t\r\n") {
		return nil, fmt.Errorf("etcd discovery: cluster name %q: want a non-empty name without '/' or spaces", cfg.Cluster)
	}
	if len(cfg.Servers) == 0 {
		return nil, errors.New("etcd discovery: no servers: want one or more URLs such as http://127.0.0.1:2379")
	}
	tlsUsed := false
	for i, s := range cfg.Servers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("etcd discovery: server %q: want an http:// or https:// URL with a host and port, such as http://127.0.0.1:2379", s)
		}
		if i > 0 && (u.Scheme == "https") != tlsUsed {
			return nil, fmt.Errorf("etcd discovery: servers %s: mix http:// and https://; want one scheme for all", strings.Join(cfg.Servers, ","))
		}
		tlsUsed = u.Scheme == "https"
	}
	switch {
	case tlsUsed && cfg.TLS == nil:
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	case !tlsUsed && cfg.TLS != nil:
		return nil, fmt.Errorf("etcd discovery: TLS is configured but the servers %s are http:// URLs; want https://", strings.Join(cfg.Servers, ","))
	}
	cfg.Servers = slices.Clone(cfg.Servers)
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	switch {
	case cfg.NodeTTL == 0:
		cfg.NodeTTL = DefaultNodeTTL
	case cfg.NodeTTL < time.Second:
		return nil, fmt.Errorf("etcd discovery: node TTL %v: want at least 1s", cfg.NodeTTL)
	}
	for _, d := range []*time.Duration{&cfg.DialTimeout, &cfg.RequestTimeout, &cfg.RetryInterval} {
		if *d < 0 {
			return nil, fmt.Errorf("etcd discovery: negative timeout or interval %v: want a positive duration or 0 for the default", *d)
		}
	}
	cfg.DialTimeout = cmp.Or(cfg.DialTimeout, DefaultDialTimeout)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.RetryInterval = cmp.Or(cfg.RetryInterval, DefaultRetryInterval)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	base := cfg.Prefix + "/" + cfg.Cluster + "/"
	e := &Etcd{
		cfg:         cfg,
		ttl:         int64((cfg.NodeTTL + time.Second - 1) / time.Second),
		nodesPrefix: base + "nodes/",
		key:         base + "nodes/" + cfg.Name,
		lockPrefix:  base + "lock",
		endpoints:   strings.Join(cfg.Servers, ","),
		log:         cfg.Logger, // messages say "etcd discovery"; ekka-mesh run adds discovery=etcd
		leaseSem:    make(chan struct{}, 1),
		lockSem:     make(chan struct{}, 1),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// LoadTLS builds the client TLS configuration of cluster.etcd.ssl.*: a
// client certificate and key (both or neither) and the CA certificates that
// sign etcd's server certificate (the system roots when caFile is empty).
// All empty gives nil: no client TLS setting.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" && caFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("etcd discovery: client certificate %q and key %q: want both or neither", certFile, keyFile)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd discovery: client certificate %s and key %s: cannot load them as a PEM certificate and its private key: %w", certFile, keyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("etcd discovery: CA certificates: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd discovery: CA certificates %s: no PEM certificate in it, want one or more \"-----BEGIN CERTIFICATE-----\" blocks", caFile)
		}
	}
	return tc, nil
}

// Key is the key this node registers: <prefix>/<cluster>/nodes/<name>.
func (e *Etcd) Key() string { return e.key }

// Discover lists the nodes registered under <prefix>/<cluster>/nodes/:
// this cluster's only, sorted. Keys whose last element is not a node name
// (short@host) are skipped and logged.
func (e *Etcd) Discover(ctx context.Context) ([]string, error) {
	cli, err := e.getClient()
	if err != nil {
		return nil, e.fail("list "+e.nodesPrefix, err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, e.nodesPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, e.observe(ctx, e.fail("list "+e.nodesPrefix, err))
	}
	e.observe(ctx, nil)
	return e.nodeNames(resp.Kvs), nil
}

// nodeNames turns the keys of a listing of nodesPrefix into the node
// names they end in, sorted and unique; other keys are skipped and logged.
func (e *Etcd) nodeNames(kvs []*mvccpb.KeyValue) []string {
	nodes := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		name, ok := strings.CutPrefix(string(kv.Key), e.nodesPrefix)
		if !ok {
			e.log.Warn("etcd discovery: skipping a key outside the nodes' prefix", "key", string(kv.Key), "prefix", e.nodesPrefix)
			continue
		}
		err := checkName(name)
		if err == nil {
			// The name must be one a node can have, as every other
			// strategy requires, or the mesh would dial nothing.
			_, err = portmap.Parse(name)
		}
		if err != nil {
			e.log.Warn("etcd discovery: skipping a key that does not end in a node name", "key", string(kv.Key), "err", err)
			continue
		}
		nodes = append(nodes, name)
	}
	slices.Sort(nodes)
	return slices.Compact(nodes)
}

// Register puts <prefix>/<cluster>/nodes/<name> (value: the name) on this
// node's lease, granting the lease and starting its keepalive if needed.
// From then on, if the lease is lost, the strategy registers again by
// itself until Unregister.
func (e *Etcd) Register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	cli, id, err := e.ensureLease(ctx)
	if err != nil {
		return e.observe(ctx, e.fail("register "+e.key, err))
	}
	e.mu.Lock()
	e.registered = true
	e.mu.Unlock()
	if _, err := cli.Put(ctx, e.key, e.cfg.Name, clientv3.WithLease(id)); err != nil {
		return e.observe(ctx, e.fail(fmt.Sprintf("register %s on lease %x", e.key, int64(id)), err))
	}
	e.observe(ctx, nil)
	e.mu.Lock()
	lost := e.lease != id
	e.mu.Unlock()
	if lost {
		return e.fail(fmt.Sprintf("register %s on lease %x", e.key, int64(id)), errors.New("the lease was lost meanwhile"))
	}
	return nil
}

// Unregister deletes this node's key, revokes its lease (which also drops
// its lock, if held) and closes the client. It is the last call a stopping
// node makes; every method fails after it.
func (e *Etcd) Unregister(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	registered, id, cli := e.registered, e.lease, e.client
	e.registered = false
	e.mu.Unlock()

	var errs []error
	if cli != nil && (registered || id != 0) {
		ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
		if registered {
			if _, err := cli.Delete(ctx, e.key); err != nil {
				errs = append(errs, e.fail("unregister: delete "+e.key, err))
			}
		}
		if id != 0 {
			if _, err := cli.Revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
				errs = append(errs, e.fail(fmt.Sprintf("unregister: revoke lease %x", int64(id)), err))
			}
		}
		cancel()
	}
	if err := e.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close stops the keepalives and closes the client without deleting
// anything: the registration then expires within the node TTL, as if the
// node had died. It waits for the strategy's goroutines and is idempotent.
func (e *Etcd) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.wg.Wait()
		return nil
	}
	e.closed = true
	cli, sess := e.client, e.session
	e.session = nil
	e.mu.Unlock()

	e.cancel()
	if sess != nil {
		sess.Orphan()
	}
	var err error
	if cli != nil {
		if cerr := cli.Close(); cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = fmt.Errorf("etcd discovery: closing the client of %s: %w", e.endpoints, cerr)
		}
	}
	e.wg.Wait()
	return err
}

// getClient returns the client, creating it on first use. Creating it does
// not block: connections are made by the requests, within their contexts.
func (e *Etcd) getClient() (*clientv3.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if e.client != nil {
		return e.client, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            e.cfg.Servers,
		DialTimeout:          e.cfg.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: e.cfg.DialTimeout,
		TLS:                  e.cfg.TLS,
		Context:              e.ctx,
		Logger:               zap.NewNop(),
		// gRPC's default reconnect backoff grows to 2 minutes: after an
		// outage the keepalives would miss the lease's deadline although
		// etcd is back. Reconnect at least every second instead.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: e.cfg.DialTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	e.client = cli
	return cli, nil
}

// ensureLease returns the current lease, or grants one of the node TTL and
// starts keeping it alive.
func (e *Etcd) ensureLease(ctx context.Context) (*clientv3.Client, clientv3.LeaseID, error) {
	select {
	case e.leaseSem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-e.leaseSem }()
	cli, err := e.getClient()
	if err != nil {
		return nil, 0, err
	}
	e.mu.Lock()
	id := e.lease
	e.mu.Unlock()
	if id != 0 {
		return cli, id, nil
	}
	resp, err := cli.Grant(ctx, e.ttl)
	if err != nil {
		return nil, 0, fmt.Errorf("grant a lease of %ds: %w", e.ttl, err)
	}
	id = resp.ID
	ch, err := cli.KeepAlive(e.ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("keep lease %x alive: %w", int64(id), err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, 0, errClosed
	}
	e.lease = id
	e.mu.Unlock()
	if !e.spawn(func() { e.keep(id, ch) }) {
		return nil, 0, errClosed
	}
	return cli, id, nil
}

// keep drains the keepalive responses of lease id. When they end (the
// lease expired, for instance because etcd was unreachable for longer than
// the TTL, or the strategy is closing), it forgets the lease and, if the
// node is registered, registers again until it succeeds.
func (e *Etcd) keep(id clientv3.LeaseID, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	for range ch {
		e.keepAnswers.Add(1)
	}
	e.mu.Lock()
	var sess *concurrency.Session
	if e.lease == id {
		e.lease = 0
		if e.session != nil && e.session.Lease() == id {
			sess, e.session = e.session, nil
		}
	}
	again := e.registered && !e.closed
	e.mu.Unlock()
	if sess != nil {
		sess.Orphan()
	}
	if !again || e.ctx.Err() != nil {
		return
	}
	e.log.Warn("etcd discovery: lost the lease of the registration (etcd unreachable for longer than the node TTL?); registering again",
		"key", e.key, "lease", fmt.Sprintf("%x", int64(id)), "ttl", e.cfg.NodeTTL, "servers", e.endpoints)
	for attempt := 1; ; attempt++ {
		err := e.Register(e.ctx)
		if err == nil {
			e.log.Info("etcd discovery: registered again", "key", e.key, "attempts", attempt)
			// The old lease may still live in etcd (it outlasts an outage
			// on the server's side); its keys are gone or moved, revoke it.
			if cli, cerr := e.getClient(); cerr == nil {
				rctx, cancel := context.WithTimeout(e.ctx, e.cfg.RequestTimeout)
				cli.Revoke(rctx, id)
				cancel()
			}
			return
		}
		if e.ctx.Err() != nil {
			return
		}
		e.mu.Lock()
		stillWanted := e.registered
		e.mu.Unlock()
		if !stillWanted {
			return
		}
		if attempt == 1 || attempt%30 == 0 {
			e.log.Warn("etcd discovery: registering again failed; retrying", "attempts", attempt, "every", e.cfg.RetryInterval, "err", err)
		}
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(e.cfg.RetryInterval):
		}
	}
}

// sessionFor returns a concurrency session on lease id.
func (e *Etcd) sessionFor(cli *clientv3.Client, id clientv3.LeaseID) (*concurrency.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if e.session != nil && e.session.Lease() == id {
		return e.session, nil
	}
	if e.session != nil {
		e.session.Orphan()
		e.session = nil
	}
	// With an existing lease NewSession only starts a keepalive: no request.
	s, err := concurrency.NewSession(cli, concurrency.WithLease(id), concurrency.WithContext(e.ctx))
	if err != nil {
		return nil, fmt.Errorf("session on lease %x: %w", int64(id), err)
	}
	e.session = s
	return s, nil
}

// Lock takes etcd's lock <prefix>/<cluster>/lock on this node's lease
// (go.etcd.io/etcd/client/v3/concurrency), waiting while another node holds
// it, until ctx ends. A node that dies holding it releases it within the
// node TTL. Lock after Lock without Unlock is a no-op.
func (e *Etcd) Lock(ctx context.Context) error {
	op := "lock " + e.lockPrefix
	e.mu.Lock()
	held := e.held != nil
	e.mu.Unlock()
	if held {
		return nil
	}
	select {
	case e.lockSem <- struct{}{}:
	case <-ctx.Done():
		return e.fail(op+" (an earlier attempt is still ending)", ctx.Err())
	}
	m, err := e.newMutex(ctx)
	if err != nil {
		<-e.lockSem
		return e.observe(ctx, e.fail(op, err))
	}
	result := make(chan error)
	abandon := make(chan struct{})
	started := e.spawn(func() {
		err := m.Lock(ctx)
		select {
		case result <- err:
			return
		case <-abandon:
		}
		// Lock gave up on ctx: release what this attempt may have got.
		if err == nil {
			e.unlockUntilDone(m)
			return
		}
		<-e.lockSem
	})
	if !started {
		<-e.lockSem
		return e.fail(op, errClosed)
	}
	select {
	case err := <-result:
		if err != nil {
			<-e.lockSem
			return e.fail(op, err)
		}
		e.mu.Lock()
		e.held = m
		e.mu.Unlock()
		return nil
	case <-ctx.Done():
		close(abandon)
		return e.fail(op, ctx.Err())
	}
}

func (e *Etcd) newMutex(ctx context.Context) (*concurrency.Mutex, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	cli, id, err := e.ensureLease(ctx)
	if err != nil {
		return nil, err
	}
	s, err := e.sessionFor(cli, id)
	if err != nil {
		return nil, err
	}
	return concurrency.NewMutex(s, e.lockPrefix), nil
}

// Unlock releases the lock taken by Lock; without one it does nothing. If
// etcd does not answer, it returns the error and keeps trying in the
// background (every RetryInterval, until it succeeds or the strategy is
// closed), so that the lock is not left held by a live node.
func (e *Etcd) Unlock(ctx context.Context) error {
	e.mu.Lock()
	m := e.held
	e.held = nil
	e.mu.Unlock()
	if m == nil {
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	err := m.Unlock(uctx)
	cancel()
	if err == nil || errors.Is(err, concurrency.ErrLockReleased) {
		<-e.lockSem
		return nil
	}
	if !e.spawn(func() { e.unlockUntilDone(m) }) {
		<-e.lockSem
		return e.fail("unlock "+e.lockPrefix, err)
	}
	return e.fail("unlock "+e.lockPrefix+" (retrying in the background)", err)
}

// spawn runs f in a goroutine that Close waits for, unless the strategy is
// closed already (then it returns false and f does not run).
func (e *Etcd) spawn(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// unlockUntilDone releases m, retrying until it succeeds or the strategy
// closes (the lease is then kept alive no more and the lock expires with
// it), then frees the way for the next Lock.
func (e *Etcd) unlockUntilDone(m *concurrency.Mutex) {
	defer func() { <-e.lockSem }()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.RequestTimeout)
		err := m.Unlock(ctx)
		cancel()
		if err == nil || errors.Is(err, concurrency.ErrLockReleased) || e.ctx.Err() != nil {
			return
		}
		if attempt == 1 || attempt%30 == 0 {
			e.log.Warn("etcd discovery: releasing the lock failed; retrying", "lock", m.Key(), "attempts", attempt, "every", e.cfg.RetryInterval, "err", e.fail("unlock", err))
		}
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(e.cfg.RetryInterval):
		}
	}
}

// observe logs, once per outage, that requests to etcd fail (a request
// failed while its caller's ctx was still live) and that it answers again
// (err nil). It returns err.
func (e *Etcd) observe(ctx context.Context, err error) error {
	if err != nil && (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)) && e.ctx.Err() == nil {
		e.mu.Lock()
		was := e.down
		e.down = true
		e.mu.Unlock()
		if !was {
			e.log.Warn("etcd discovery: requests to etcd fail; retrying", "servers", e.endpoints, "err", err)
		}
		return err
	}
	if err == nil {
		e.mu.Lock()
		was := e.down
		e.down = false
		e.mu.Unlock()
		if was {
			e.log.Info("etcd discovery: etcd answers again", "servers", e.endpoints)
		}
	}
	return err
}

// fail wraps err with the operation and the endpoints, and a hint when etcd
// did not answer in time.
func (e *Etcd) fail(op string, err error) error {
	hint := ""
	if errors.Is(err, context.DeadlineExceeded) {
		hint = " (no answer in time: is etcd running and reachable there?)"
	}
	return fmt.Errorf("etcd discovery: %s on %s: %w%s", op, e.endpoints, err, hint)
}

// checkName accepts short@host: one '@', both sides non-empty, no '/',
// space or control character.
func checkName(name string) error {
	short, host, ok := strings.Cut(name, "@")
	switch {
	case name == "":
		return errors.New("empty, want short@host")
	case strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }):
		return errors.New("contains a space, control character or '/', want short@host")
	case !ok || strings.Contains(host, "@"):
		return errors.New("want exactly one '@', as in short@host")
	case short == "" || host == "":
		return errors.New("empty short name or host, want short@host")
	}
	return nil
}
