<?php
/**
 * WordPress's personal data tools: an exporter and an eraser for the user's edgebot conversations
 * (edgebot's signed /v1/privacy/export and /v1/privacy/erase).
 *
 * @package edgebot
 */

add_filter( 'wp_privacy_personal_data_exporters', 'edgebot_register_exporter' );
add_filter( 'wp_privacy_personal_data_erasers', 'edgebot_register_eraser' );

/**
 * Register the exporter.
 *
 * @param array $exporters Exporters.
 * @return array
 */
function edgebot_register_exporter( array $exporters ): array {
	$exporters['edgebot'] = array(
		'exporter_friendly_name' => __( 'edgebot conversations', 'edgebot' ),
		'callback'               => 'edgebot_privacy_export',
	);
	return $exporters;
}

/**
 * Register the eraser.
 *
 * @param array $erasers Erasers.
 * @return array
 */
function edgebot_register_eraser( array $erasers ): array {
	$erasers['edgebot'] = array(
		'eraser_friendly_name' => __( 'edgebot conversations', 'edgebot' ),
		'callback'             => 'edgebot_privacy_erase',
	);
	return $erasers;
}

/**
 * Export the conversations of the user with this email. When edgebot cannot be reached or refuses, the
 * export fails with that reason (WordPress shows it) rather than completing without the conversations.
 *
 * @param string $email The email address.
 * @return array|WP_Error
 */
function edgebot_privacy_export( string $email ) {
	$user = get_user_by( 'email', $email );
	$data = array();
	if ( $user ) {
		$result = Edgebot_Client::from_options()->request( 'GET', '/v1/privacy/export?wp_user_id=' . $user->ID, null, array(), false );
		if ( is_wp_error( $result ) || 200 !== $result['status'] || ! is_array( $result['body'] ) ) {
			/* translators: %s: what went wrong (edgebot_privacy_problem). */
			$message = sprintf( __( 'The chat conversations could not be exported: %s', 'edgebot' ), edgebot_privacy_problem( $result ) );
			if ( wp_doing_ajax() ) {
				// Tools > Export Personal Data shows a string it is sent; a WP_Error would show as "[object Object]".
				wp_send_json_error( $message );
			}
			return new WP_Error( 'edgebot_export_failed', $message );
		}
		foreach ( $result['body']['sessions'] ?? array() as $session ) {
			$lines = array();
			foreach ( $session['messages'] as $message ) {
				$lines[] = esc_html( $message['role'] . ': ' . $message['content'] );
			}
			$data[] = array(
				'group_id'    => 'edgebot',
				'group_label' => __( 'Chat conversations', 'edgebot' ),
				'item_id'     => 'edgebot-' . $session['session_id'],
				'data'        => array(
					array(
						'name'  => __( 'Started', 'edgebot' ),
						'value' => $session['created_at'],
					),
					array(
						'name'  => __( 'Messages', 'edgebot' ),
						'value' => implode( "<br />\n", $lines ), // one message a line in the export's index.html
					),
				),
			);
		}
	}
	return array(
		'data' => $data,
		'done' => true,
	);
}

/**
 * Why edgebot did not do what the personal data tools asked, in words for the site owner.
 *
 * @param array|WP_Error $result The client's result.
 * @return string
 */
function edgebot_privacy_problem( $result ): string {
	if ( is_wp_error( $result ) ) {
		/* translators: %s: the connection error. */
		return sprintf( __( 'edgebot could not be reached (%s). Start it, or check the edgebot URL on Settings > edgebot, then try again.', 'edgebot' ), $result->get_error_message() );
	}
	$body = is_array( $result['body'] ) ? $result['body'] : array();
	if ( in_array( $body['code'] ?? '', array( 'bad_signature', 'missing_signature', 'bridge_disabled' ), true ) ) {
		return __( 'edgebot refused the request: the site secret on Settings > edgebot does not match its bridge.secret.', 'edgebot' );
	}
	/* translators: 1: HTTP status, 2: edgebot's explanation. */
	return sprintf( __( 'edgebot refused the request (HTTP %1$d: %2$s).', 'edgebot' ), $result['status'], (string) ( $body['detail'] ?? '' ) );
}

/**
 * Erase the conversations of the user with this email. When edgebot cannot be reached or refuses, nothing is
 * erased: the result says so (WordPress lists the message) and the request is not marked completed
 * (edgebot_privacy_keep_open).
 *
 * @param string $email The email address.
 * @return array
 */
function edgebot_privacy_erase( string $email ): array {
	global $edgebot_erase_failed;
	$user    = get_user_by( 'email', $email );
	$removed = false;
	$message = array();
	if ( $user ) {
		$result = Edgebot_Client::from_options()->request( 'POST', '/v1/privacy/erase', array( 'wp_user_id' => $user->ID ), array(), false );
		if ( is_wp_error( $result ) || $result['status'] >= 300 ) {
			/* translators: %s: what went wrong (edgebot_privacy_problem). */
			$message[]            = sprintf( __( 'The chat conversations were not erased: %s', 'edgebot' ), edgebot_privacy_problem( $result ) );
			$edgebot_erase_failed = true;
		} else {
			$removed = ( $result['body']['sessions_erased'] ?? 0 ) > 0;
		}
	}
	return array(
		'items_removed'  => $removed,
		'items_retained' => ! empty( $message ),
		'messages'       => $message,
		'done'           => true,
	);
}

add_action( 'wp_privacy_personal_data_erased', 'edgebot_privacy_keep_open' );

/**
 * WordPress marks an erasure request completed after its last eraser; one whose edgebot conversations were not
 * erased goes back to "confirmed", so it is run again rather than reported done.
 *
 * @param int $request_id The request.
 */
function edgebot_privacy_keep_open( int $request_id ): void {
	global $edgebot_erase_failed;
	if ( empty( $edgebot_erase_failed ) ) {
		return;
	}
	delete_post_meta( $request_id, '_wp_user_request_completed_timestamp' );
	wp_update_post(
		array(
			'ID'          => $request_id,
			'post_status' => 'request-confirmed',
		)
	);
}
