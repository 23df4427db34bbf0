# Sourced by bench/gateway.sh and bench/profile-gateway.sh: the one scenario both put a gateway
# through, so what is profiled is what is benchmarked. A fast upstream (an nginx server block
# answering GET /rest/api/user/current with a fixed Confluence-like JSON), a gateway forwarding to
# it with a static identity and the SQLite audit log on, and a bound token with five restriction
# rules (the matching one last).

export CFL_ADMIN_TOKEN=bench-admin-token-0123456789
PATH_="/rest/api/user/current"
RULES='["[post].*/rest/api/space/DEV/property.*", "[get]/rest/api/content[QueryParam::spaceKey==DEV]",
        "[delete]/rest/api/content/[0-9]+", "[put]/rest/api/content/[0-9]+[JsonData::space.key==DEV]",
        "[get]/rest/api/user/current"]'
SECRET="bench-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 28)"
AUTH="Authorization: Basic $(printf 'svc-reports:%s' "$SECRET" | base64 -w0)"

upstream_server() { # port → the nginx server block of the upstream
  cat <<NGINX
  server {
    listen 127.0.0.1:$1;
    location / { default_type application/json; return 200 '{"type":"known","username":"svc-reports","displayName":"Reports Service Account"}'; }
  }
NGINX
}

upstream_nginx_conf() { # dir port → an nginx.conf that runs only the upstream, its files in dir
  cat <<NGINX
worker_processes 1; pid $1/nginx.pid; error_log $1/error.log; daemon off;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $1/body; proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fcgi; uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;
$(upstream_server "$2")
}
NGINX
}

gateway_toml() { # listen upstream_url workers store → the gateway's config (durability "process")
  cat <<TOML
listen = "$1"
workers = $3
store = "$4"
[audit]
durability = "process"
[upstream]
url = "$2"
[upstream.identity]
mode = "static"
pat = "bench-not-a-secret"
TOML
}

add_token() { # gateway base URL [curl options…]: the bound token, with the five rules
  local url=$1; shift
  curl -sf "$@" -H "Authorization: Bearer $CFL_ADMIN_TOKEN" -H 'content-type: application/json' "$url/admin/v1/tokens" \
    -d "{\"label\": \"bench\", \"user\": \"svc-reports\", \"token\": \"$SECRET\", \"restrictions\": $RULES}" >/dev/null
}
