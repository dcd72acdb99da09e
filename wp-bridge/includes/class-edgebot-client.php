<?php
/**
 * Talks to edgebot server-to-server, every request signed.
 *
 * `wp_safe_remote_*` refuses loopback addresses and non-standard ports, and edgebot normally listens on
 * 127.0.0.1:8710 next to WordPress, so this uses `wp_remote_request` on the configured URL only (an admin
 * setting, never user input), and curl directly for streamed replies.
 *
 * @package edgebot
 */

/**
 * The edgebot client.
 */
class Edgebot_Client {

	/**
	 * Base URL of edgebot, without a trailing slash.
	 *
	 * @var string
	 */
	private string $base;

	/**
	 * Signs requests.
	 *
	 * @var Edgebot_Signer
	 */
	private Edgebot_Signer $signer;

	/**
	 * Constructor.
	 *
	 * @param string $base   edgebot's URL.
	 * @param string $secret The site secret.
	 */
	public function __construct( string $base, string $secret ) {
		$this->base   = rtrim( $base, '/' );
		$this->signer = new Edgebot_Signer( $secret );
	}

	/**
	 * The client for the saved settings.
	 *
	 * @return Edgebot_Client
	 */
	public static function from_options(): Edgebot_Client {
		return new self( (string) edgebot_option( 'url' ), (string) edgebot_option( 'secret' ) );
	}

	/**
	 * The current user as a claim (id, display name, roles), or null for a guest. Never from the browser.
	 *
	 * @return array|null
	 */
	public static function current_user(): ?array {
		$user = wp_get_current_user();
		if ( ! $user || ! $user->exists() ) {
			return null;
		}
		return array(
			'id'    => $user->ID,
			'name'  => $user->display_name,
			'roles' => array_values( (array) $user->roles ),
		);
	}

	/**
	 * The visitor's IP address as this server saw it.
	 *
	 * @return string
	 */
	public static function visitor_ip(): string {
		$ip = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
		return filter_var( $ip, FILTER_VALIDATE_IP ) ? $ip : '';
	}

	/**
	 * A signed JSON request.
	 *
	 * @param string     $method HTTP method.
	 * @param string     $path   Path (and query) on edgebot.
	 * @param array|null $body   JSON body.
	 * @param array      $extra  More headers (e.g. Authorization).
	 * @param bool       $as_visitor Whether to send the current user and IP claims.
	 * @return array{status:int, body:mixed}|WP_Error
	 */
	public function request( string $method, string $path, ?array $body = null, array $extra = array(), bool $as_visitor = true ) {
		$raw     = null === $body ? '' : (string) wp_json_encode( $body );
		$user    = $as_visitor ? self::current_user() : null;
		$ip      = $as_visitor ? self::visitor_ip() : '';
		$headers = $this->signer->headers( $method, $path, $raw, $user, $ip ) + $extra;
		if ( '' !== $raw ) {
			$headers['Content-Type'] = 'application/json';
		}
		$response = wp_remote_request(
			$this->base . $path,
			array(
				'method'  => $method,
				'headers' => $headers,
				'body'    => '' === $raw ? null : $raw,
				'timeout' => 30,
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		return array(
			'status' => (int) wp_remote_retrieve_response_code( $response ),
			'body'   => json_decode( (string) wp_remote_retrieve_body( $response ), true ),
		);
	}

	/**
	 * Post a message and pass edgebot's Server-Sent Events through to the browser as they arrive.
	 *
	 * @param string   $path     The messages path.
	 * @param array    $body     JSON body.
	 * @param array    $extra    More headers.
	 * @param callable $on_chunk Called with each chunk of the body and edgebot's HTTP status (known before
	 *                           the first chunk: a caller sends its own headers only once it knows it).
	 * @return int HTTP status, 0 when edgebot could not be reached.
	 */
	public function stream( string $path, array $body, array $extra, callable $on_chunk ): int {
		$raw     = (string) wp_json_encode( $body );
		$headers = $this->signer->headers( 'POST', $path, $raw, self::current_user(), self::visitor_ip() ) + $extra;
		$headers['Content-Type'] = 'application/json';
		$headers['Accept']       = 'text/event-stream';
		$lines = array();
		foreach ( $headers as $name => $value ) {
			$lines[] = $name . ': ' . $value;
		}
		$ch = curl_init( $this->base . $path ); // phpcs:ignore WordPress.WP.AlternativeFunctions -- streaming needs curl.
		curl_setopt_array(
			$ch,
			array(
				CURLOPT_POST          => true,
				CURLOPT_POSTFIELDS    => $raw,
				CURLOPT_HTTPHEADER    => $lines,
				CURLOPT_TIMEOUT       => 120,
				CURLOPT_WRITEFUNCTION => static function ( $handle, $chunk ) use ( $on_chunk ) {
					$on_chunk( $chunk, (int) curl_getinfo( $handle, CURLINFO_RESPONSE_CODE ) );
					return strlen( $chunk );
				},
			)
		);
		$ok     = curl_exec( $ch );
		$status = $ok ? (int) curl_getinfo( $ch, CURLINFO_RESPONSE_CODE ) : 0;
		curl_close( $ch );
		return $status;
	}
}
