# tests/integration/security.sh: sourced by run.sh.  Tokens, realms and
# the no-token probe (security.py) against two servers on the suite's
# database: HS256 with a configured secret, then RS256 with key files made
# by openssl.  Both serve realms POLARIS and OTHER and issue tokens that
# live 2 s.

sec_round() {
    local name=$1 mode=$2 key=$3
    shift 3
    write_config "$tmp/$name.yaml" 0 "$DBURL" \
        "realms: [POLARIS, OTHER]" "auth:" "  token_lifetime_s: 2" "$@"
    if ! FLOE_BOOTSTRAP_CREDENTIALS="POLARIS,root-client,root-secret-for-tests;OTHER,other-client,other-secret-for-tests" \
        start_floe "$name" "$tmp/$name.yaml"; then
        fail "security-$name" "floe did not start"
        return
    fi
    python3 tests/integration/security.py "$FLOE_URL" "$mode" "$key" \
        openapi/floe.yaml || fail "security-$name" "security.py failed"
    stop_floe "$FLOE_PID"
    sanitizer_check "$name" "$tmp/$name.log"
}

t_security() {
    if ! command -v python3 >/dev/null 2>&1; then
        skip security "no python3"
        return
    fi
    sec_round sec-hs hs "$FLOE_AUTH_TOKEN_SECRET"
    if ! command -v openssl >/dev/null 2>&1; then
        skip security-rs "no openssl"
        return
    fi
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$tmp/rs.key" 2>/dev/null &&
        openssl pkey -in "$tmp/rs.key" -pubout -out "$tmp/rs.pub" 2>/dev/null
    FLOE_AUTH_TOKEN_SECRET= sec_round sec-rs rs "$tmp/rs.pub" \
        "  private_key_file: $tmp/rs.key" "  public_key_file: $tmp/rs.pub"
}
