<?php
/**
 * Settings page (Settings API, manage_options): edgebot URL and secret, widget look, where it shows,
 * "Test connection", "Resync all" and the content sync failures waiting for a retry.
 *
 * @package edgebot
 */

add_action( 'admin_menu', 'edgebot_admin_menu' );
add_action( 'admin_init', 'edgebot_register_settings' );
add_action( 'admin_post_edgebot_resync', 'edgebot_handle_resync' );

/**
 * Add Settings > edgebot.
 */
function edgebot_admin_menu(): void {
	add_options_page( __( 'edgebot', 'edgebot' ), __( 'edgebot', 'edgebot' ), 'manage_options', 'edgebot', 'edgebot_render_settings' );
}

/**
 * Register the option and its fields.
 */
function edgebot_register_settings(): void {
	register_setting(
		'edgebot',
		'edgebot_options',
		array(
			'type'              => 'array',
			'sanitize_callback' => 'edgebot_sanitize_options',
			'default'           => edgebot_option_defaults(),
		)
	);
	add_settings_section( 'edgebot_main', __( 'Connection and widget', 'edgebot' ), '__return_false', 'edgebot' );
	$fields = array(
		'url'      => __( 'edgebot URL', 'edgebot' ),
		'secret'   => __( 'Site secret', 'edgebot' ),
		'title'    => __( 'Widget title', 'edgebot' ),
		'greeting' => __( 'Greeting', 'edgebot' ),
		'accent'   => __( 'Accent colour', 'edgebot' ),
		'position' => __( 'Position', 'edgebot' ),
		'pages'    => __( 'Show on', 'edgebot' ),
		'page_ids' => __( 'Page IDs (for "only these")', 'edgebot' ),
		'guests'   => __( 'Guests may chat', 'edgebot' ),
	);
	foreach ( $fields as $key => $label ) {
		// label_for: WordPress renders the label as <label for="edgebot_KEY">, tied to the input's id.
		add_settings_field( 'edgebot_' . $key, $label, 'edgebot_render_field', 'edgebot', 'edgebot_main', array( 'key' => $key, 'label_for' => 'edgebot_' . $key ) );
	}
}

/**
 * One settings field. The secret is never echoed back: an empty field keeps the saved one.
 *
 * @param array $args Field arguments (key).
 */
function edgebot_render_field( array $args ): void {
	$key   = $args['key'];
	$id    = 'edgebot_' . $key;
	$name  = 'edgebot_options[' . $key . ']';
	$value = edgebot_option( $key );
	switch ( $key ) {
		case 'secret':
			$set = '' !== (string) $value;
			printf(
				'<input type="password" id="%3$s" name="%1$s" value="" autocomplete="new-password" class="regular-text" placeholder="%2$s">',
				esc_attr( $name ),
				esc_attr( $set ? __( 'saved; type a new one to replace it', 'edgebot' ) : __( 'the bridge.secret of edgebot', 'edgebot' ) ),
				esc_attr( $id )
			);
			break;
		case 'position':
		case 'pages':
			$choices = 'position' === $key
				? array(
					'right' => __( 'Bottom right', 'edgebot' ),
					'left'  => __( 'Bottom left', 'edgebot' ),
				)
				: array(
					'all'  => __( 'Every page', 'edgebot' ),
					'only' => __( 'Only these pages', 'edgebot' ),
					'none' => __( 'Nowhere (shortcode and block only)', 'edgebot' ),
				);
			echo '<select id="' . esc_attr( $id ) . '" name="' . esc_attr( $name ) . '">';
			foreach ( $choices as $choice => $label ) {
				echo '<option value="' . esc_attr( $choice ) . '"' . selected( $value, $choice, false ) . '>' . esc_html( $label ) . '</option>';
			}
			echo '</select>';
			break;
		case 'guests':
			echo '<input type="checkbox" id="' . esc_attr( $id ) . '" name="' . esc_attr( $name ) . '" value="1"' . checked( (int) $value, 1, false ) . '>';
			break;
		default:
			$type = 'accent' === $key ? 'color' : ( 'url' === $key ? 'url' : 'text' );
			printf( '<input type="%1$s" id="%4$s" name="%2$s" value="%3$s" class="regular-text">', esc_attr( $type ), esc_attr( $name ), esc_attr( (string) $value ), esc_attr( $id ) );
	}
	$help = edgebot_field_help();
	if ( isset( $help[ $key ] ) ) {
		echo '<p class="description" id="' . esc_attr( $id . '_help' ) . '">' . esc_html( $help[ $key ] ) . '</p>';
	}
}

/**
 * The transient that asks the settings page to test the connection once the form's values are saved.
 */
function edgebot_test_flag(): string {
	return 'edgebot_test_after_save_' . get_current_user_id();
}

/**
 * What each setting means, shown under its field.
 *
 * @return array<string, string>
 */
function edgebot_field_help(): array {
	return array(
		'url'      => __( 'Where WordPress reaches edgebot, server to server, e.g. http://127.0.0.1:8000 (not a public address).', 'edgebot' ),
		'secret'   => __( "The same value as edgebot's bridge.secret (EDGEBOT_BRIDGE_SECRET); it signs every request. Leave empty to keep the saved one.", 'edgebot' ),
		'title'    => __( 'Shown at the top of the chat window.', 'edgebot' ),
		'greeting' => __( "The first message a visitor sees when they open the chat.", 'edgebot' ),
		'accent'   => __( "The launcher's and the visitor's messages' colour.", 'edgebot' ),
		'position' => __( 'Which corner the chat button sits in.', 'edgebot' ),
		'pages'    => __( 'Where the chat button appears; the [edgebot] shortcode and the chat block work anywhere.', 'edgebot' ),
		'page_ids' => __( 'With "Only these pages": page or post IDs separated by commas, e.g. 12, 40, 41 (the ID is in the edit link: post=12).', 'edgebot' ),
		'guests'   => __( 'Visitors who are not logged in may chat; off: only logged-in users.', 'edgebot' ),
	);
}

/**
 * The settings page.
 */
function edgebot_render_settings(): void {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	echo '<div class="wrap"><h1>' . esc_html__( 'edgebot', 'edgebot' ) . '</h1>';
	if ( get_transient( edgebot_test_flag() ) ) { // "Save and test connection" was pressed: the values are saved now.
		delete_transient( edgebot_test_flag() );
		edgebot_render_connection_test();
	}
	if ( isset( $_GET['edgebot_resynced'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification -- a notice after our own redirect.
		$sent   = absint( $_GET['edgebot_resynced'] ); // phpcs:ignore WordPress.Security.NonceVerification
		$failed = absint( $_GET['edgebot_failed'] ?? 0 ); // phpcs:ignore WordPress.Security.NonceVerification
		/* translators: %d: number of posts and pages edgebot accepted. */
		$message = sprintf( _n( 'Sent %d post or page to edgebot.', 'Sent %d posts and pages to edgebot.', $sent, 'edgebot' ), $sent );
		if ( $failed ) {
			/* translators: %d: number of posts and pages that could not be sent. */
			$message .= ' ' . sprintf( _n( '%d could not be sent (listed below; retried every five minutes).', '%d could not be sent (listed below; retried every five minutes).', $failed, 'edgebot' ), $failed );
		}
		echo '<div class="notice ' . ( $failed ? 'notice-warning' : 'notice-info' ) . '" id="edgebot-resync-result"><p>' . esc_html( $message ) . '</p></div>';
	}
	echo '<form method="post" action="options.php">';
	settings_fields( 'edgebot' );
	do_settings_sections( 'edgebot' );
	echo '<p class="submit">';
	submit_button( '', 'primary', 'submit', false );
	// Saves what is in the form (unsaved edits included), then tests the connection with it.
	echo ' <button type="submit" class="button" id="edgebot-test" name="edgebot_test_after_save" value="1">' . esc_html__( 'Save and test connection', 'edgebot' ) . '</button></p>';
	echo '</form>';
	echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '">';
	echo '<input type="hidden" name="action" value="edgebot_resync">';
	wp_nonce_field( 'edgebot_resync' );
	submit_button( __( 'Resync all content', 'edgebot' ), 'secondary', 'submit', false );
	echo '</form>';
	$queue = edgebot_sync_queue();
	if ( $queue ) {
		echo '<h2>' . esc_html__( 'Content waiting to be sent again', 'edgebot' ) . '</h2><ul>';
		foreach ( $queue as $item ) {
			/* translators: 1: post id, 2: number of attempts, 3: last error. */
			echo '<li>' . esc_html( sprintf( _n( 'Post %1$d: %2$d attempt, last error: %3$s', 'Post %1$d: %2$d attempts, last error: %3$s', (int) $item['attempts'], 'edgebot' ), $item['post_id'], $item['attempts'], $item['error'] ) ) . '</li>';
		}
		echo '</ul>';
	}
	echo '</div>';
}

/**
 * A signed call to edgebot's /v1/bridge/check: readiness and version, or why edgebot refused (a wrong site
 * secret, the clocks apart, signatures turned off) or could not be reached.
 */
function edgebot_render_connection_test(): void {
	$result = Edgebot_Client::from_options()->request( 'GET', '/v1/bridge/check', null, array(), false );
	$ready  = false;
	if ( is_wp_error( $result ) ) {
		/* translators: 1: edgebot's URL, 2: the error message. */
		$message = sprintf( __( 'Could not reach edgebot at %1$s: %2$s', 'edgebot' ), (string) edgebot_option( 'url' ), $result->get_error_message() );
	} else {
		$body   = is_array( $result['body'] ) ? $result['body'] : array();
		$code   = (string) ( $body['code'] ?? '' );
		$detail = (string) ( $body['detail'] ?? '' );
		$ready  = 200 === $result['status'] && ! empty( $body['ready'] );
		if ( 'bad_signature' === $code ) {
			$message = __( 'edgebot refused the signature: the site secret here does not match its bridge.secret.', 'edgebot' );
		} elseif ( 'clock_skew' === $code ) {
			/* translators: %s: edgebot's explanation. */
			$message = sprintf( __( 'edgebot refused the request because the clocks differ: %s', 'edgebot' ), $detail );
		} elseif ( '' !== $code ) {
			/* translators: 1: HTTP status, 2: edgebot's error code, 3: its explanation. */
			$message = sprintf( __( 'edgebot answered %1$d %2$s: %3$s', 'edgebot' ), $result['status'], $code, $detail );
		} elseif ( ! isset( $body['ready'], $body['version'] ) ) {
			/* translators: 1: the URL, 2: HTTP status. */
			$message = sprintf( __( 'Something answers at %1$s (HTTP %2$d), but it is not edgebot: check the edgebot URL.', 'edgebot' ), (string) edgebot_option( 'url' ), $result['status'] );
		} else {
			/* translators: 1: "ready" or "not ready", 2: edgebot's version, 3: the model. */
			$message = sprintf( __( 'edgebot is %1$s (version %2$s, model %3$s).', 'edgebot' ), $ready ? __( 'ready', 'edgebot' ) : __( 'not ready', 'edgebot' ), $body['version'] ?? '?', $body['model'] ?? '?' );
		}
	}
	echo '<div class="notice ' . ( $ready ? 'notice-success' : 'notice-error' ) . '" id="edgebot-test-result"><p>' . esc_html( $message ) . '</p></div>';
}

/**
 * "Resync all": send every published post and page.
 */
function edgebot_handle_resync(): void {
	if ( ! current_user_can( 'manage_options' ) ) {
		wp_die( esc_html__( 'Not allowed.', 'edgebot' ) );
	}
	check_admin_referer( 'edgebot_resync' );
	$ids = get_posts(
		array(
			'post_type'      => array( 'post', 'page' ),
			'post_status'    => 'publish',
			'posts_per_page' => -1,
			'fields'         => 'ids',
		)
	);
	$sent = 0;
	foreach ( $ids as $id ) {
		$sent += edgebot_sync_post( (int) $id, 'upsert' ) ? 1 : 0;
	}
	wp_safe_redirect( admin_url( 'options-general.php?page=edgebot&edgebot_resynced=' . $sent . '&edgebot_failed=' . ( count( $ids ) - $sent ) ) );
	exit;
}
