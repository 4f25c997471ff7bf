package auth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/wsgate/wsgate/auth"
)

func TestParsePublicKeyPEM(t *testing.T) {
	k := testKeys()
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "issuer.test"},
		NotBefore:    now,
		NotAfter:     now.Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer.test"}}, k.ec.Public(), k.ec)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	ok := []struct {
		name string
		pem  []byte
		want crypto.PublicKey
	}{
		{"RSA PKIX", publicPEM(t, &k.rsa.PublicKey), &k.rsa.PublicKey},
		{"RSA PKCS1", enc("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)), &k.rsa.PublicKey},
		{"ECDSA", publicPEM(t, &k.ec.PublicKey), &k.ec.PublicKey},
		{"Ed25519", publicPEM(t, k.ed.Public()), k.ed.Public()},
		{"certificate", enc("CERTIFICATE", certDER), &k.ec.PublicKey},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.ParsePublicKeyPEM(tc.pem)
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM: %v", err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !got.(equaler).Equal(tc.want) {
				t.Errorf("got %T, not the expected key", got)
			}
		})
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	small := k.rsaSmall
	bad := []struct {
		name string
		pem  []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"private key", enc("PRIVATE KEY", pkcs8)},
		{"RSA private key", enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa))},
		{"unknown type", enc("SOMETHING", []byte{1, 2, 3})},
		{"garbage DER", enc("PUBLIC KEY", []byte{1, 2, 3})},
		{"small RSA", publicPEM(t, &small.PublicKey)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			key, err := auth.ParsePublicKeyPEM(tc.pem)
			if !errors.Is(err, auth.ErrConfig) {
				t.Fatalf("ParsePublicKeyPEM = %v, %v; want ErrConfig", reflect.TypeOf(key), err)
			}
		})
	}
}
