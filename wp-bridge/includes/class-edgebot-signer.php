<?php
/**
 * HMAC signing shared with edgebot (src/edgebot/bridge/signing.py): pure PHP, no WordPress needed.
 *
 * @package edgebot
 */

/**
 * Signs and verifies requests between WordPress and edgebot.
 */
class Edgebot_Signer {

	/**
	 * The site secret.
	 *
	 * @var string
	 */
	private string $secret;

	/**
	 * Constructor.
	 *
	 * @param string $secret The site secret shared with edgebot (bridge.secret).
	 */
	public function __construct( string $secret ) {
		$this->secret = $secret;
	}

	/**
	 * The canonical string: METHOD, PATH?QUERY, TIMESTAMP, NONCE, USER, VISITOR_IP, sha256(BODY), one per line.
	 *
	 * @param string $method HTTP method.
	 * @param string $path   Path with query string.
	 * @param string $ts     Unix seconds.
	 * @param string $nonce  Single-use nonce.
	 * @param string $user   The base64url user claim, or ''.
	 * @param string $ip     The visitor's IP, or ''.
	 * @param string $body   Raw body.
	 * @return string
	 */
	public static function canonical( string $method, string $path, string $ts, string $nonce, string $user, string $ip, string $body ): string {
		return implode( "\n", array( strtoupper( $method ), $path, $ts, $nonce, $user, $ip, hash( 'sha256', $body ) ) );
	}

	/**
	 * URL-safe base64 without padding.
	 *
	 * @param string $data Bytes.
	 * @return string
	 */
	public static function b64url( string $data ): string {
		return rtrim( strtr( base64_encode( $data ), '+/', '-_' ), '=' ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions
	}

	/**
	 * The user claim header value for a user (id, display name, roles), or '' for a guest.
	 *
	 * @param array|null $user Keys id, name, roles.
	 * @return string
	 */
	public static function user_claim( ?array $user ): string {
		if ( empty( $user ) || empty( $user['id'] ) ) {
			return '';
		}
		$claim = array(
			'id'    => (int) $user['id'],
			'name'  => (string) ( $user['name'] ?? '' ),
			'roles' => array_values( array_map( 'strval', (array) ( $user['roles'] ?? array() ) ) ),
		);
		return self::b64url( (string) json_encode( $claim ) );
	}

	/**
	 * Headers for a signed request.
	 *
	 * @param string     $method HTTP method.
	 * @param string     $path   Path with query.
	 * @param string     $body   Raw body.
	 * @param array|null $user   The logged-in user (id, name, roles) or null.
	 * @param string     $ip     The visitor's IP.
	 * @param int|null   $ts     Timestamp (tests).
	 * @param string     $nonce  Nonce (tests); random when empty.
	 * @return array<string,string>
	 */
	public function headers( string $method, string $path, string $body = '', ?array $user = null, string $ip = '', ?int $ts = null, string $nonce = '' ): array {
		$ts    = (string) ( $ts ?? time() );
		$nonce = '' !== $nonce ? $nonce : self::b64url( random_bytes( 18 ) );
		$claim = self::user_claim( $user );
		$mac   = hash_hmac( 'sha256', self::canonical( $method, $path, $ts, $nonce, $claim, $ip, $body ), $this->secret );
		return array(
			'X-Edgebot-Timestamp'  => $ts,
			'X-Edgebot-Nonce'      => $nonce,
			'X-Edgebot-User'       => $claim,
			'X-Edgebot-Visitor-IP' => $ip,
			'X-Edgebot-Signature'  => $mac,
		);
	}

	/**
	 * Whether a request edgebot sent us (e.g. the orders endpoint) carries a valid signature within the skew.
	 * Replays are refused by the caller, which remembers nonces.
	 *
	 * @param string               $method  HTTP method.
	 * @param string               $path    Path with query.
	 * @param array<string,string> $headers Lower-case header names.
	 * @param string               $body    Raw body.
	 * @param int                  $max_skew Seconds.
	 * @param int|null             $now     Unix time (tests).
	 * @return string '' when valid, else the reason.
	 */
	public function check( string $method, string $path, array $headers, string $body, int $max_skew = 300, ?int $now = null ): string {
		$ts    = (string) ( $headers['x-edgebot-timestamp'] ?? '' );
		$nonce = (string) ( $headers['x-edgebot-nonce'] ?? '' );
		$mac   = strtolower( (string) ( $headers['x-edgebot-signature'] ?? '' ) );
		if ( '' === $ts || '' === $nonce || '' === $mac ) {
			return 'missing_signature';
		}
		$user     = (string) ( $headers['x-edgebot-user'] ?? '' );
		$ip       = (string) ( $headers['x-edgebot-visitor-ip'] ?? '' );
		$expected = hash_hmac( 'sha256', self::canonical( $method, $path, $ts, $nonce, $user, $ip, $body ), $this->secret );
		if ( ! hash_equals( $expected, $mac ) ) {
			return 'bad_signature';
		}
		if ( ! ctype_digit( $ts ) || abs( ( $now ?? time() ) - (int) $ts ) > $max_skew ) {
			return 'clock_skew';
		}
		return '';
	}
}
