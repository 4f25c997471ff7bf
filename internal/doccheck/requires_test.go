package doccheck

// The packages that the docs' Go blocks may use from other modules (the
// imports table in doccheck.go), imported here so that go mod tidy keeps
// their modules in this module's go.mod: the blocks are compiled through an
// overlay, which tidy does not see, and must build with GOWORK=off too.
import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/go-chi/chi/v5/middleware"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/labstack/echo/v4"
	_ "github.com/labstack/echo/v4/middleware"
	_ "github.com/nats-io/nats.go"
	_ "github.com/pires/go-proxyproto"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/wsgate/wsgate/auth"
	_ "github.com/wsgate/wsgate/hub/brokertest"
	_ "github.com/wsgate/wsgate/hub/natsbroker"
	_ "github.com/wsgate/wsgate/hub/natsstore"
	_ "github.com/wsgate/wsgate/hub/redisbroker"
	_ "github.com/wsgate/wsgate/hub/redisstore"
	_ "github.com/wsgate/wsgate/hub/storetest"
	_ "github.com/wsgate/wsgate/metrics"
	_ "github.com/wsgate/wsgate/middleware"
	_ "github.com/wsgate/wsgate/origin"
	_ "github.com/wsgate/wsgate/ratelimit"
	_ "github.com/wsgate/wsgate/wstest"
	_ "golang.org/x/time/rate"
)
