package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const minRSABits = 2048

// algorithm describes a supported JWS algorithm: the family of keys that
// verify it and, for HMAC, the minimum secret length in bytes, for ECDSA
// the curve size in bits.
func algorithm(alg string) (fam algFamily, size int, ok bool) {
	switch alg {
	case "HS256":
		return famHMAC, 32, true
	case "HS384":
		return famHMAC, 48, true
	case "HS512":
		return famHMAC, 64, true
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return famRSA, 0, true
	case "ES256":
		return famECDSA, 256, true
	case "ES384":
		return famECDSA, 384, true
	case "ES512":
		return famECDSA, 521, true
	case "EdDSA":
		return famEd25519, 0, true
	}
	return famNone, 0, false
}

// keyFamily classifies a public verification key and refuses anything that
// is not a usable public key (private keys, HMAC secrets, weak RSA).
func keyFamily(k crypto.PublicKey) (algFamily, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return famNone, errors.New("nil RSA key")
		}
		if k.N.BitLen() < minRSABits {
			return famNone, fmt.Errorf("RSA key of %d bits, at least %d required", k.N.BitLen(), minRSABits)
		}
		return famRSA, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return famNone, errors.New("nil ECDSA key")
		}
		switch k.Curve.Params().BitSize {
		case 256, 384, 521:
			return famECDSA, nil
		}
		return famNone, fmt.Errorf("ECDSA curve %s is not P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return famNone, fmt.Errorf("Ed25519 key of %d bytes", len(k))
		}
		return famEd25519, nil
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ed25519.PrivateKey:
		return famNone, errors.New("a private key; pass its public key")
	case []byte, string:
		return famNone, errors.New("an HMAC secret; use HMACSecret")
	}
	return famNone, fmt.Errorf("unsupported key type %T", k)
}

// keyFits reports whether key (of family fam, from keyFamily) may verify a
// token signed with alg. This is the check that stops algorithm confusion:
// an RSA public key is never handed to an HMAC verifier and vice versa.
func keyFits(alg string, fam algFamily, key crypto.PublicKey) bool {
	afam, size, ok := algorithm(alg)
	if !ok || afam != fam || fam == famHMAC || fam == famNone {
		return false
	}
	if fam == famECDSA {
		ek, _ := key.(*ecdsa.PublicKey)
		return ek != nil && ek.Curve.Params().BitSize == size
	}
	return true
}

// ParsePublicKeyPEM parses the first PEM block of data as a public key for
// Config.Keys: "PUBLIC KEY" (PKIX: RSA, ECDSA or Ed25519), "RSA PUBLIC KEY"
// (PKCS #1) or "CERTIFICATE" (its subject public key; the certificate is
// not otherwise validated). Private keys are refused so that they are not
// deployed where only a public key is needed. Errors wrap ErrConfig.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrConfig)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("%w: PEM block is a private key (%s); pass the public key", ErrConfig, block.Type)
		}
		return nil, fmt.Errorf("%w: unsupported PEM block type %q", ErrConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %v", ErrConfig, block.Type, err)
	}
	if _, err := keyFamily(key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return key, nil
}
