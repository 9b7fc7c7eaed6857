package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certificates are valid from an hour ago for a day.
const (
	backdate = time.Hour
	validFor = 24 * time.Hour
)

// CA is a self-signed certificate authority.
type CA struct {
	CertPEM []byte // the CA certificate, for a CA file
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// Leaf says what a certificate issued by a CA is for.
type Leaf struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
}

// Cert is a certificate issued by a CA, for both server and client
// authentication, with its private key.
type Cert struct {
	TLS     tls.Certificate
	CertPEM []byte // the certificate
	KeyPEM  []byte // its private key (PKCS #8)
}

// Files are the paths of the PEM files WriteFiles wrote.
type Files struct {
	CA, Cert, Key string
}

// NewCA makes a CA with a new key.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: commonName},
		NotBefore: now.Add(-backdate), NotAfter: now.Add(validFor),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: encode("CERTIFICATE", der), cert: cert, key: key}, nil
}

// Pool returns a new pool holding the CA certificate, for
// tls.Config.RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Issue makes a key and a certificate for it signed by the CA.
func (ca *CA) Issue(l Leaf) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: l.CommonName},
		NotBefore: now.Add(-backdate), NotAfter: now.Add(validFor),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    l.DNSNames,
		IPAddresses: l.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	c := &Cert{CertPEM: encode("CERTIFICATE", der), KeyPEM: encode("PRIVATE KEY", keyDER)}
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		return nil, err
	}
	return c, nil
}

// WriteFiles writes the CA certificate to dir/ca.pem, and c's certificate
// and key to dir/name.pem and dir/name-key.pem.
func (ca *CA) WriteFiles(dir, name string, c *Cert) (Files, error) {
	f := Files{
		CA:   filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, name+".pem"),
		Key:  filepath.Join(dir, name+"-key.pem"),
	}
	for _, w := range []struct {
		path string
		data []byte
	}{{f.CA, ca.CertPEM}, {f.Cert, c.CertPEM}, {f.Key, c.KeyPEM}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}

// Must returns v, or panics if err is not nil; for tests, where making
// certificates does not fail.
func Must[V any](v V, err error) V {
	if err != nil {
		panic(err)
	}
	return v
}

func encode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
