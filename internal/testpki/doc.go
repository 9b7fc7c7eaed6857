// Package testpki makes throwaway certificates for tests at run time, so no
// key material lives in the repository: an ECDSA P-256 CA that issues leaf
// certificates for given DNS names and IPs, each usable by a TLS server and
// a TLS client, as tls.Certificate values, PEM bytes or PEM files.
//
//	ca, err := testpki.NewCA("ekka-mesh test CA")
//	node, err := ca.Issue(testpki.Leaf{CommonName: "n1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
//	server := &tls.Config{Certificates: []tls.Certificate{node.TLS}, ClientCAs: ca.Pool()}
//	files, err := ca.WriteFiles(dir, "node", node) // dir/ca.pem, dir/node.pem, dir/node-key.pem
//
// It returns errors rather than failing a test, so that non-test packages
// such as test servers can use it; Must turns an error into a panic.
package testpki
