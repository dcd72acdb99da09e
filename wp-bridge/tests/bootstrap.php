<?php
/**
 * PHPUnit bootstrap: the plugin's pure-PHP classes and its option sanitizer, with the handful of WordPress
 * functions they call replaced by small equivalents (the real ones run in scripts/wp-e2e).
 *
 * @package edgebot
 */

$GLOBALS['edgebot_test_options'] = array();

if ( ! function_exists( '__' ) ) {
	function __( $text, $domain = 'default' ) { return $text; } // phpcs:ignore
	function get_option( $name, $default = false ) { return $GLOBALS['edgebot_test_options'][ $name ] ?? $default; } // phpcs:ignore
	function esc_url_raw( $url, $protocols = null ) { // phpcs:ignore
		$scheme = strtolower( (string) parse_url( $url, PHP_URL_SCHEME ) );
		return ( '' !== $url && in_array( $scheme, $protocols ?? array( 'http', 'https' ), true ) ) ? $url : '';
	}
	function sanitize_hex_color( $color ) { return preg_match( '/^#([A-Fa-f0-9]{3}){1,2}$/', $color ) ? $color : null; } // phpcs:ignore
	function absint( $n ) { return abs( (int) $n ); } // phpcs:ignore
	function untrailingslashit( $s ) { return rtrim( $s, '/\\' ); } // phpcs:ignore
	function sanitize_text_field( $s ) { return trim( preg_replace( '/[\r\n\t ]+/', ' ', strip_tags( (string) $s ) ) ); } // phpcs:ignore
}

require_once dirname( __DIR__ ) . '/includes/class-edgebot-signer.php';
require_once dirname( __DIR__ ) . '/includes/options.php';
