package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// loadKeyPair loads the PEM certificate and private key of <prefix>.certfile
// and <prefix>.keyfile (prefix node.tls or node.admin.tls); an error names
// both keys and both files.
func loadKeyPair(prefix, certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s.certfile = %s, %s.keyfile = %s: cannot load them as a PEM certificate and its private key: %w",
			prefix, certFile, prefix, keyFile, err)
	}
	return cert, nil
}

// loadCAPool reads the CA certificates of <prefix>.cacertfile; a file that
// cannot be read or holds no PEM certificate is an error naming the key and
// the file.
func loadCAPool(prefix, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s.cacertfile = %s: %w", prefix, file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s.cacertfile = %s: no PEM certificate in it, want one or more \"-----BEGIN CERTIFICATE-----\" blocks", prefix, file)
	}
	return pool, nil
}
