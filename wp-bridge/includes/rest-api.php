<?php
/**
 * REST routes under /wp-json/edgebot/v1/ that the widget calls; each is forwarded to edgebot, signed.
 *
 * @package edgebot
 */

add_action( 'rest_api_init', 'edgebot_register_routes' );

/**
 * Arguments shared by the routes that act on a session.
 *
 * @return array
 */
function edgebot_session_args(): array {
	return array(
		'session_id' => array(
			'type'     => 'string',
			'required' => true,
			'pattern'  => '^[a-f0-9]{32}$',
		),
		'token'      => array(
			'type'     => 'string',
			'required' => true,
			'pattern'  => '^[A-Za-z0-9_-]{20,100}$',
		),
	);
}

/**
 * Register the routes.
 */
function edgebot_register_routes(): void {
	register_rest_route(
		'edgebot/v1',
		'/session',
		array(
			'methods'             => 'POST',
			'callback'            => 'edgebot_rest_session',
			'permission_callback' => 'edgebot_rest_permission',
			'args'                => array(),
		)
	);
	register_rest_route(
		'edgebot/v1',
		'/message',
		array(
			'methods'             => 'POST',
			'callback'            => 'edgebot_rest_message',
			'permission_callback' => 'edgebot_rest_permission',
			'args'                => edgebot_session_args() + array(
				'text' => array(
					'type'              => 'string',
					'required'          => true,
					'minLength'         => 1,
					'maxLength'         => 2000,
					'sanitize_callback' => 'sanitize_textarea_field',
				),
			),
		)
	);
	register_rest_route(
		'edgebot/v1',
		'/feedback',
		array(
			'methods'             => 'POST',
			'callback'            => 'edgebot_rest_feedback',
			'permission_callback' => 'edgebot_rest_permission',
			'args'                => edgebot_session_args() + array(
				'rating'  => array(
					'type'    => 'integer',
					'minimum' => 1,
					'maximum' => 5,
				),
				'thumbs'  => array(
					'type' => 'string',
					'enum' => array( 'up', 'down' ),
				),
				'comment' => array(
					'type'              => 'string',
					'maxLength'         => 2000,
					'sanitize_callback' => 'sanitize_textarea_field',
				),
			),
		)
	);
	register_rest_route(
		'edgebot/v1',
		'/state',
		array(
			'methods'             => 'GET',
			'callback'            => 'edgebot_rest_state',
			'permission_callback' => 'edgebot_rest_permission',
			'args'                => edgebot_session_args(),
		)
	);
}

/**
 * Every route: the `wp_rest` nonce, guests only when allowed, and a per-IP rate limit.
 *
 * @param WP_REST_Request $request The request.
 * @return true|WP_Error
 */
function edgebot_rest_permission( WP_REST_Request $request ) {
	$nonce = (string) $request->get_header( 'X-WP-Nonce' );
	if ( ! wp_verify_nonce( $nonce, 'wp_rest' ) ) {
		return new WP_Error( 'edgebot_bad_nonce', __( 'The page is out of date; reload it and try again.', 'edgebot' ), array( 'status' => 403 ) );
	}
	if ( ! is_user_logged_in() && ! edgebot_option( 'guests' ) ) {
		return new WP_Error( 'edgebot_login_required', __( 'Please log in to chat.', 'edgebot' ), array( 'status' => 401 ) );
	}
	$limit = (int) apply_filters( 'edgebot_rate_limit_per_minute', 30 );
	$key   = 'edgebot_rl_' . md5( Edgebot_Client::visitor_ip() );
	$count = (int) get_transient( $key );
	if ( $count >= $limit ) {
		return new WP_Error( 'edgebot_rate_limited', __( 'Too many messages; wait a minute.', 'edgebot' ), array( 'status' => 429 ) );
	}
	set_transient( $key, $count + 1, MINUTE_IN_SECONDS );
	return true;
}

/**
 * A WP_REST_Response for edgebot's reply (or an error when it could not be reached).
 *
 * @param array|WP_Error $result The client's result.
 * @return WP_REST_Response|WP_Error
 */
function edgebot_rest_result( $result ) {
	if ( is_wp_error( $result ) ) {
		return new WP_Error( 'edgebot_unreachable', __( 'The assistant is not reachable right now.', 'edgebot' ), array( 'status' => 502 ) );
	}
	return edgebot_rest_refusal( is_array( $result['body'] ) ? $result['body'] : array(), $result['status'] );
}

/**
 * edgebot's answer for the widget. When edgebot refused the bridge itself (a wrong site secret, the clocks apart,
 * signatures off) the visitor is told the assistant is misconfigured (503, nothing of the admin's detail) and the
 * widget keeps their conversation; "no such session" stays a 404/401, which the widget reads as an erased one.
 *
 * @param array $body   edgebot's JSON.
 * @param int   $status Its HTTP status.
 * @return WP_REST_Response
 */
function edgebot_rest_refusal( array $body, int $status ): WP_REST_Response {
	$bridge = array( 'missing_signature', 'bad_signature', 'clock_skew', 'bad_nonce', 'bad_claim', 'bridge_disabled' );
	if ( $status >= 400 && in_array( $body['code'] ?? '', $bridge, true ) ) {
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the owner's side of the story.
		error_log( 'edgebot refused the WordPress bridge: ' . ( $body['detail'] ?? $body['code'] ) );
		return new WP_REST_Response(
			array(
				'code'   => 'edgebot_misconfigured',
				'detail' => __( "The site's assistant is not set up correctly right now; please try again later.", 'edgebot' ),
			),
			503
		);
	}
	return new WP_REST_Response( $body, $status );
}

/**
 * The Authorization header for a session.
 *
 * @param WP_REST_Request $request The request.
 * @return array<string,string>
 */
function edgebot_session_auth( WP_REST_Request $request ): array {
	return array( 'Authorization' => 'Bearer ' . $request['token'] );
}

/**
 * POST /session: a new edgebot session (the logged-in user travels as a signed claim).
 *
 * @return WP_REST_Response|WP_Error
 */
function edgebot_rest_session() {
	return edgebot_rest_result( Edgebot_Client::from_options()->request( 'POST', '/v1/sessions' ) );
}

/**
 * POST /message: forwards the message and streams edgebot's Server-Sent Events to the browser. The stream's
 * headers go out only once edgebot answered 200: any other answer (404 for a session erased or purged, 401,
 * 429, 422) comes back with edgebot's status and JSON error, and an unreachable edgebot is a 502.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error|null Nothing when streamed (the response was sent).
 */
function edgebot_rest_message( WP_REST_Request $request ) {
	$path    = '/v1/sessions/' . $request['session_id'] . '/messages';
	$started = false;
	$refusal = '';
	$status  = Edgebot_Client::from_options()->stream(
		$path,
		array( 'text' => (string) $request['text'] ),
		edgebot_session_auth( $request ),
		static function ( string $chunk, int $code ) use ( &$started, &$refusal ): void {
			if ( 200 !== $code ) {
				$refusal .= $chunk;
				return;
			}
			if ( ! $started ) {
				$started = true;
				if ( ! headers_sent() ) {
					header( 'Content-Type: text/event-stream; charset=utf-8' );
					header( 'Cache-Control: no-cache' );
					header( 'X-Accel-Buffering: no' );
				}
				while ( ob_get_level() > 0 ) {
					ob_end_flush();
				}
			}
			echo $chunk; // phpcs:ignore WordPress.Security.EscapeOutput -- an event stream passed through, rendered as text by the widget.
			flush();
		}
	);
	if ( $started ) {
		exit;
	}
	if ( 0 === $status ) {
		return edgebot_rest_result( new WP_Error( 'edgebot_unreachable', 'unreachable' ) );
	}
	$error = json_decode( $refusal, true );
	return edgebot_rest_refusal( is_array( $error ) ? $error : array( 'code' => 'edgebot_error', 'detail' => $refusal ), $status );
}

/**
 * POST /feedback: a rating for the conversation.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function edgebot_rest_feedback( WP_REST_Request $request ) {
	$body = array_filter(
		array(
			'rating'  => $request['rating'],
			'thumbs'  => $request['thumbs'],
			'comment' => (string) $request['comment'],
		),
		static fn( $v ) => null !== $v
	);
	$path = '/v1/sessions/' . $request['session_id'] . '/feedback';
	return edgebot_rest_result( Edgebot_Client::from_options()->request( 'POST', $path, $body, edgebot_session_auth( $request ) ) );
}

/**
 * GET /state: the session's history (the widget polls it for a person's replies after a handoff).
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function edgebot_rest_state( WP_REST_Request $request ) {
	$path = '/v1/sessions/' . $request['session_id'];
	return edgebot_rest_result( Edgebot_Client::from_options()->request( 'GET', $path, null, edgebot_session_auth( $request ) ) );
}
