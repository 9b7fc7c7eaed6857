package load

import (
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
)

// The workloads Run drives.
const (
	// WorkloadCall: Concurrency callers, each with one call of MethodEcho
	// in flight, Size bytes each way (default 64).
	WorkloadCall = "call"
	// WorkloadCast: Concurrency goroutines cast Size bytes (default 64) to
	// MethodCast as fast as Cast returns; the run ends when the target has
	// counted every cast sent.
	WorkloadCast = "cast"
	// WorkloadBulk: Concurrency callers, each with one call of MethodSink in
	// flight, carrying Size bytes (default 1 MiB) with an empty reply:
	// one-way bulk data acknowledged per message.
	WorkloadBulk = "bulk"
	// WorkloadLock: Concurrency owners on the driving node, each acquiring
	// and releasing a leader lock of its own in a loop through the lock
	// service named locker.DefaultName, which both nodes run; the leader
	// (the oldest member) holds the tables, the target when the driver
	// joined it. With Options.Bulk, one more caller sends bench.sink calls
	// of that many bytes to the target all the while: lock latency under
	// bulk traffic between the same pair.
	WorkloadLock = "lock"
)

// The payloads Options.Payload can ask for.
const (
	// PayloadZeros is Size zero bytes: it compresses to almost nothing.
	PayloadZeros = "zeros"
	// PayloadRandom is Size random bytes (the same ones for every
	// operation of a run): compression cannot shrink it.
	PayloadRandom = "random"
)

// Workloads lists the workloads, in the order the docs give them.
var Workloads = []string{WorkloadCall, WorkloadCast, WorkloadBulk, WorkloadLock}

// Defaults of Options' zero fields.
const (
	DefaultConcurrency = 1
	DefaultSize        = 64      // call and cast
	DefaultBulkSize    = 1 << 20 // bulk
	DefaultDuration    = 5 * time.Second
	// MaxSize is the largest payload: a message the receiver reassembles
	// must not exceed conn.DefaultMaxMessage.
	MaxSize = conn.DefaultMaxMessage - 1024
	// MaxConcurrency bounds the workers: each holds an 18 KiB histogram.
	MaxConcurrency = 4096
)

// ProgressInterval is about how often Options.Progress is called.
const ProgressInterval = 500 * time.Millisecond

// Options say what Run drives. Zero fields take their defaults.
type Options struct {
	// Workload is WorkloadCall, WorkloadCast, WorkloadBulk or WorkloadLock.
	Workload string
	// Concurrency is the number of callers (call, bulk) or casting
	// goroutines (cast); default 1.
	Concurrency int
	// Size is the payload of each operation in bytes: default 64 for call
	// and cast, 1 MiB for bulk. Zero means the default; an empty payload
	// cannot be asked for. A lock carries no payload: Size stays 0.
	Size int
	// Bulk, for the lock workload only, is the size in bytes of the
	// bench.sink calls one more caller sends to the target while the locks
	// run (0: none). The payload is Payload's kind.
	Bulk int
	// Duration is how long operations are started (default 5s). A cast run
	// lasts longer by the time the target takes to receive the casts sent.
	Duration time.Duration
	// Payload is PayloadZeros (the default) or PayloadRandom. Compare
	// compression settings with both: zeros are the best case for
	// compression, random bytes the worst.
	Payload string
	// Warmup, when positive, runs the workload this long before the
	// measured Duration, and waits until the target has counted every cast
	// of it; nothing of the warmup is in the Result.
	Warmup time.Duration
	// Progress, when not nil, is called about every ProgressInterval while
	// the run lasts, from one goroutine at a time, never after Run returns.
	Progress func(Progress)
}

// Validate reports the first bad field of o, naming it, its value and what
// was expected.
func (o Options) Validate() error {
	switch o.Workload {
	case WorkloadCall, WorkloadCast, WorkloadBulk, WorkloadLock:
	case "":
		return fmt.Errorf("load: Options.Workload is empty: want %s, %s, %s or %s", WorkloadCall, WorkloadCast, WorkloadBulk, WorkloadLock)
	default:
		return fmt.Errorf("load: Options.Workload = %q: want %s, %s, %s or %s", o.Workload, WorkloadCall, WorkloadCast, WorkloadBulk, WorkloadLock)
	}
	switch o.Payload {
	case "", PayloadZeros, PayloadRandom:
	default:
		return fmt.Errorf("load: Options.Payload = %q: want %s or %s", o.Payload, PayloadZeros, PayloadRandom)
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("load: Options.Concurrency = %d: want 1 to %d (0 means %d)", o.Concurrency, MaxConcurrency, DefaultConcurrency)
	}
	if o.Size < 0 || o.Size > MaxSize {
		return fmt.Errorf("load: Options.Size = %d: want 1 to %d bytes (0 means the workload's default)", o.Size, MaxSize)
	}
	if o.Workload == WorkloadLock && o.Size != 0 {
		return fmt.Errorf("load: Options.Size = %d: the lock workload sends no payload (Options.Bulk sizes the calls alongside the locks)", o.Size)
	}
	if o.Bulk < 0 || o.Bulk > MaxSize {
		return fmt.Errorf("load: Options.Bulk = %d: want 0 (none) to %d bytes", o.Bulk, MaxSize)
	}
	if o.Bulk != 0 && o.Workload != WorkloadLock {
		return fmt.Errorf("load: Options.Bulk = %d with workload %s: bulk calls alongside are for the lock workload only", o.Bulk, o.Workload)
	}
	if o.Duration < 0 {
		return fmt.Errorf("load: Options.Duration = %v: want a positive duration (0 means %v)", o.Duration, DefaultDuration)
	}
	if o.Warmup < 0 {
		return fmt.Errorf("load: Options.Warmup = %v: want 0 (none) or a positive duration", o.Warmup)
	}
	return nil
}

// WithDefaults returns o with its zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Size == 0 && o.Workload != WorkloadLock {
		o.Size = DefaultSize
		if o.Workload == WorkloadBulk {
			o.Size = DefaultBulkSize
		}
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Payload == "" {
		o.Payload = PayloadZeros
	}
	return o
}
