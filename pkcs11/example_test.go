package pkcs11_test

import (
	"context"
	"crypto/tls"
	"log"
	"os"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/pkcs11"
)

// A device's client key and certificate live in its secure element, which
// its vendor's PKCS #11 library serves; the broker asks for a client
// certificate (mutual TLS).
func ExampleOpen() {
	tok, err := pkcs11.Open(pkcs11.Config{
		Module:     "/usr/lib/softhsm/libsofthsm2.so",
		TokenLabel: "device",
		PIN:        os.Getenv("DEVICE_PIN"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tok.Close()

	cert, err := tok.Certificate(pkcs11.KeyRef{Label: "client"})
	if err != nil {
		log.Fatal(err)
	}
	c, err := mqtt.Dial(context.Background(), mqtt.Config{
		Broker:    "mqtts://broker.example:8883",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// A key without a certificate in the token, as a crypto.Signer: to make a
// certificate signing request with x509.CreateCertificateRequest, or to
// sign anything else.
func ExampleToken_Signer() {
	tok, err := pkcs11.Open(pkcs11.Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "device", PIN: os.Getenv("DEVICE_PIN")})
	if err != nil {
		log.Fatal(err)
	}
	defer tok.Close()
	signer, err := tok.Signer(pkcs11.KeyRef{ID: []byte{0x01}})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("public key: %T", signer.Public())
}
