<?php
/**
 * The plugin's options, with defaults and sanitizers (allow-lists).
 *
 * @package edgebot
 */

/**
 * Default values of every option.
 *
 * @return array<string,mixed>
 */
function edgebot_option_defaults(): array {
	return array(
		'url'      => 'http://127.0.0.1:8710',
		'secret'   => '',
		'title'    => __( 'Help', 'edgebot' ),
		'greeting' => __( 'Hi! Ask me anything about this site.', 'edgebot' ),
		'accent'   => '#2456d6',
		'position' => 'right',
		'pages'    => 'all',
		'page_ids' => '',
		'guests'   => 1,
	);
}

/**
 * One option's value.
 *
 * @param string $key Option key.
 * @return mixed
 */
function edgebot_option( string $key ) {
	$options = get_option( 'edgebot_options', array() );
	$options = is_array( $options ) ? $options : array();
	$defaults = edgebot_option_defaults();
	return $options[ $key ] ?? $defaults[ $key ] ?? null;
}

/**
 * Sanitize the settings form. The secret is kept when the field is left empty (it is never echoed back).
 *
 * @param mixed $input Raw form values.
 * @return array<string,mixed>
 */
function edgebot_sanitize_options( $input ): array {
	$input    = is_array( $input ) ? $input : array();
	$old      = get_option( 'edgebot_options', array() );
	$old      = is_array( $old ) ? $old : array();
	$defaults = edgebot_option_defaults();
	$url      = esc_url_raw( trim( (string) ( $input['url'] ?? '' ) ), array( 'http', 'https' ) );
	$secret   = trim( (string) ( $input['secret'] ?? '' ) );
	$accent   = sanitize_hex_color( (string) ( $input['accent'] ?? '' ) );
	$ids      = array_filter( array_map( 'absint', explode( ',', (string) ( $input['page_ids'] ?? '' ) ) ) );
	if ( ! empty( $_POST['edgebot_test_after_save'] ) && function_exists( 'edgebot_test_flag' ) ) { // phpcs:ignore WordPress.Security.NonceVerification -- options.php checked the settings nonce.
		set_transient( edgebot_test_flag(), 1, 60 );
	}
	return array(
		'url'      => '' !== $url ? untrailingslashit( $url ) : $defaults['url'],
		'secret'   => '' !== $secret ? $secret : (string) ( $old['secret'] ?? '' ),
		'title'    => sanitize_text_field( (string) ( $input['title'] ?? $defaults['title'] ) ),
		'greeting' => sanitize_text_field( (string) ( $input['greeting'] ?? $defaults['greeting'] ) ),
		'accent'   => $accent ? $accent : $defaults['accent'],
		'position' => in_array( $input['position'] ?? '', array( 'left', 'right' ), true ) ? $input['position'] : 'right',
		'pages'    => in_array( $input['pages'] ?? '', array( 'all', 'only', 'none' ), true ) ? $input['pages'] : 'all',
		'page_ids' => implode( ',', $ids ),
		'guests'   => empty( $input['guests'] ) ? 0 : 1,
	);
}
