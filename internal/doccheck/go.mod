module github.com/wsgate/wsgate/internal/doccheck

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/wsgate/wsgate v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/hub/natsbroker v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/hub/natsstore v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/hub/redisbroker v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/hub/redisstore v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/metrics v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-chi/chi/v5 v5.5.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/labstack/echo/v4 v4.16.0
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/nats.go v1.55.0
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/pires/go-proxyproto v0.15.0
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/wsgate/wsgate => ../..

replace github.com/wsgate/wsgate/metrics => ../../metrics

replace github.com/wsgate/wsgate/hub/redisbroker => ../../hub/redisbroker

replace github.com/wsgate/wsgate/hub/redisstore => ../../hub/redisstore

replace github.com/wsgate/wsgate/hub/natsbroker => ../../hub/natsbroker

replace github.com/wsgate/wsgate/hub/natsstore => ../../hub/natsstore

replace github.com/wsgate/wsgate/internal/natstest => ../../internal/natstest
