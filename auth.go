package mqtt

import (
	"context"
	"errors"
	"fmt"

	"github.com/ternmq/mqtt/packet"
)

// reauth is a re-authentication in progress on a connection.
type reauth struct {
	ctx context.Context // the caller's: bounds Config.Authenticate
	o   *op
}

// Reauthenticate re-authenticates the connection (MQTT 5.0 section
// 4.12.1): it sends AUTH with reason code Re-authenticate, the Authentication
// Method of the CONNECT (Config.AuthMethod) and data, answers the broker's
// challenges through Config.Authenticate, and returns when the broker
// answers AUTH Success; Negotiated().AuthData then holds the broker's data.
// The connection carries on meanwhile.
//
// It needs MQTT 5.0 and a connection that began with enhanced
// authentication. One re-authentication runs at a time. A broker that
// refuses ends the connection with DISCONNECT, returned as a
// *DisconnectError; if Config.Authenticate fails or is nil when a challenge
// comes, the client ends the connection with DISCONNECT 0x80. If ctx
// expires, Reauthenticate returns ctx.Err() and the exchange goes on.
func (c *Client) Reauthenticate(ctx context.Context, data []byte) error {
	cn, err := c.current()
	if err != nil {
		return err
	}
	switch {
	case cn.v != packet.V5:
		return errors.New("mqtt: re-authentication needs MQTT 5.0")
	case c.s.AuthMethod == "":
		return errors.New("mqtt: re-authentication needs a connection with enhanced authentication (Config.AuthMethod)")
	}
	o := newOp()
	c.mu.Lock()
	if cn.reauth != nil {
		c.mu.Unlock()
		return errors.New("mqtt: a re-authentication is in progress")
	}
	cn.reauth = &reauth{ctx: ctx, o: o}
	c.mu.Unlock()
	cn.sendAuth(packet.ReasonReauthenticate, data)
	return o.wait(ctx)
}

// sendAuth queues an AUTH of the connection's method.
func (cn *conn) sendAuth(code packet.ReasonCode, data []byte) {
	cn.sendPacket(&packet.Auth{ReasonCode: code,
		Properties: packet.Properties{AuthMethod: cn.c.s.AuthMethod, AuthData: data}})
}

// auth handles an AUTH from the broker on a connected client: a challenge
// or the success of a re-authentication. One that comes unasked, or names
// another method, is a protocol error (MQTT-4.12.0-5, MQTT-4.12.1-1).
func (cn *conn) auth(p *packet.Auth) error {
	c := cn.c
	c.mu.Lock()
	ra := cn.reauth
	switch {
	case ra == nil:
		c.mu.Unlock()
		return &packet.Error{Code: packet.ReasonProtocolError, Packet: packet.TypeAuth, Reason: "AUTH without a re-authentication in progress"}
	case p.Properties.AuthMethod != c.s.AuthMethod:
		c.mu.Unlock()
		return &packet.Error{Code: packet.ReasonProtocolError, Packet: packet.TypeAuth,
			Reason: fmt.Sprintf("AUTH names method %q, not the connection's", p.Properties.AuthMethod)}
	case p.ReasonCode == packet.ReasonSuccess:
		cn.reauth = nil
		c.neg.AuthData = p.Properties.AuthData
		c.mu.Unlock()
		ra.o.finish(nil)
		return nil
	case p.ReasonCode != packet.ReasonContinueAuthentication:
		c.mu.Unlock()
		return &packet.Error{Code: packet.ReasonProtocolError, Packet: packet.TypeAuth, Reason: "AUTH " + p.ReasonCode.String() + " from the server"}
	}
	c.mu.Unlock()
	// The answer may take time (a user's callback): not on the reader.
	go func() {
		var data []byte
		err := errors.New("mqtt: the broker sent an AUTH challenge and Config.Authenticate is nil")
		if f := c.s.Authenticate; f != nil {
			data, err = f(ra.ctx, p)
			if err != nil {
				err = fmt.Errorf("mqtt: Authenticate: %w", err)
			}
		}
		if err != nil {
			ra.o.finish(err)
			cn.disconnect(packet.ReasonUnspecifiedError, ended(ErrAuth, err))
			return
		}
		cn.sendAuth(packet.ReasonContinueAuthentication, data)
	}()
	return nil
}
