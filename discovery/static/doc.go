// Package static is the static discovery strategy: the cluster's nodes are a
// fixed seed list (cluster.static.seeds). Discover returns the seeds; lock
// and registration do not apply and return errors wrapping
// discovery.ErrNotSupported, which the autocluster loop treats as success.
//
//	d, err := static.New([]string{"emqx1@10.0.0.1", "emqx2@10.0.0.2"})
//
// Seeds that are down do no harm: the autocluster loop joins the oldest
// reachable one and retries the others later.
package static
