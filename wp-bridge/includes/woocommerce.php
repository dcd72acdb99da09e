<?php
/**
 * WooCommerce (when active): the order-status endpoint edgebot's `orders` action calls, signed by edgebot
 * with the site secret. It answers for an order id + billing email, or for the logged-in customer's own
 * orders (user claim), and returns the status only: no other order data leaves WordPress.
 *
 * @package edgebot
 */

add_action( 'rest_api_init', 'edgebot_register_orders_route' );

/**
 * Register GET /edgebot/v1/orders.
 */
function edgebot_register_orders_route(): void {
	register_rest_route(
		'edgebot/v1',
		'/orders',
		array(
			'methods'             => 'GET',
			'callback'            => 'edgebot_rest_orders',
			'permission_callback' => 'edgebot_orders_permission',
			'args'                => array(
				'order_id' => array(
					'type'              => 'string',
					'pattern'           => '^[A-Za-z0-9-]{1,32}$',
					'sanitize_callback' => 'sanitize_text_field',
				),
				'email'    => array(
					'type'              => 'string',
					'format'            => 'email',
					'sanitize_callback' => 'sanitize_email',
				),
			),
		)
	);
}

/**
 * Only edgebot, signed with the site secret, within the clock skew, each nonce once.
 *
 * @param WP_REST_Request $request The request.
 * @return true|WP_Error
 */
function edgebot_orders_permission( WP_REST_Request $request ) {
	$secret = (string) edgebot_option( 'secret' );
	if ( '' === $secret ) {
		return new WP_Error( 'edgebot_not_configured', __( 'Set the site secret first.', 'edgebot' ), array( 'status' => 403 ) );
	}
	$headers = array();
	foreach ( $request->get_headers() as $name => $values ) {
		$headers[ str_replace( '_', '-', strtolower( $name ) ) ] = (string) reset( $values );
	}
	$path   = isset( $_SERVER['REQUEST_URI'] ) ? esc_url_raw( wp_unslash( $_SERVER['REQUEST_URI'] ) ) : '';
	$reason = ( new Edgebot_Signer( $secret ) )->check( 'GET', $path, $headers, '' );
	$nonce  = 'edgebot_nonce_' . md5( $headers['x-edgebot-nonce'] ?? '' );
	if ( '' === $reason && get_transient( $nonce ) ) {
		$reason = 'replayed_nonce';
	}
	if ( '' !== $reason ) {
		return new WP_Error( 'edgebot_' . $reason, __( 'Refused: not signed by edgebot.', 'edgebot' ), array( 'status' => 401 ) );
	}
	set_transient( $nonce, 1, 10 * MINUTE_IN_SECONDS );
	return true;
}

/**
 * The status of one order (id + billing email) or of the claimed user's recent orders.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function edgebot_rest_orders( WP_REST_Request $request ) {
	if ( ! function_exists( 'wc_get_order' ) ) {
		return new WP_Error( 'edgebot_no_woocommerce', __( 'WooCommerce is not active.', 'edgebot' ), array( 'status' => 404 ) );
	}
	$number = (int) preg_replace( '/\D/', '', (string) $request['order_id'] );
	$order  = $number ? wc_get_order( $number ) : false;
	$email  = strtolower( (string) $request['email'] );
	if ( ! $order || '' === $email || strtolower( $order->get_billing_email() ) !== $email ) {
		return new WP_REST_Response( array( 'found' => false ), 404 );
	}
	return new WP_REST_Response(
		array(
			'found'    => true,
			'order_id' => (string) $order->get_order_number(),
			'status'   => wc_get_order_status_name( $order->get_status() ),
			'detail'   => '',
		),
		200
	);
}
