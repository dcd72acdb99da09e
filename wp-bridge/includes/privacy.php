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
			$why = is_wp_error( $result ) ? $result->get_error_message() : ( $result['body']['detail'] ?? 'HTTP ' . $result['status'] );
			/* translators: %s: why edgebot could not answer. */
			return new WP_Error( 'edgebot_export_failed', sprintf( __( 'The chat conversations could not be exported: edgebot did not answer (%s). Try again when it is running.', 'edgebot' ), $why ) );
		}
		foreach ( $result['body']['sessions'] ?? array() as $session ) {
			$lines = array();
			foreach ( $session['messages'] as $message ) {
				$lines[] = $message['role'] . ': ' . $message['content'];
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
						'value' => implode( "\n", $lines ),
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
 * Erase the conversations of the user with this email.
 *
 * @param string $email The email address.
 * @return array
 */
function edgebot_privacy_erase( string $email ): array {
	$user    = get_user_by( 'email', $email );
	$removed = false;
	$message = array();
	if ( $user ) {
		$result = Edgebot_Client::from_options()->request( 'POST', '/v1/privacy/erase', array( 'wp_user_id' => $user->ID ), array(), false );
		if ( is_wp_error( $result ) || $result['status'] >= 300 ) {
			$message[] = __( 'edgebot could not be reached; its conversations were not erased.', 'edgebot' );
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
