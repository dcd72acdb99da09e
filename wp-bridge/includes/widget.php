<?php
/**
 * The chat widget: enqueued only where enabled, plus the [edgebot] shortcode and the edgebot/chat block
 * for inline embedding.
 *
 * @package edgebot
 */

add_action( 'wp_enqueue_scripts', 'edgebot_enqueue_widget' );
add_action( 'init', 'edgebot_register_embeds' );
add_filter( 'script_loader_tag', 'edgebot_module_tag', 10, 2 );

/**
 * Whether the floating widget shows on this request.
 *
 * @return bool
 */
function edgebot_widget_enabled(): bool {
	$mode = edgebot_option( 'pages' );
	if ( 'none' === $mode || ( ! is_user_logged_in() && ! edgebot_option( 'guests' ) ) ) {
		return false;
	}
	if ( 'only' === $mode ) {
		$ids = array_map( 'intval', explode( ',', (string) edgebot_option( 'page_ids' ) ) );
		return is_singular() && in_array( get_queried_object_id(), $ids, true );
	}
	return true;
}

/**
 * Register the script and its settings (passed with wp_json_encode).
 */
function edgebot_register_assets(): void {
	$url = plugins_url( 'assets/', EDGEBOT_BRIDGE_FILE );
	wp_register_script( 'edgebot-widget', $url . 'widget.js', array(), EDGEBOT_BRIDGE_VERSION, true );
	wp_register_style( 'edgebot-widget', $url . 'widget.css', array(), EDGEBOT_BRIDGE_VERSION );
	$config = array(
		'api'      => esc_url_raw( rest_url( 'edgebot/v1/' ) ),
		'nonce'    => wp_create_nonce( 'wp_rest' ),
		'title'    => (string) edgebot_option( 'title' ),
		'greeting' => (string) edgebot_option( 'greeting' ),
		'accent'   => (string) edgebot_option( 'accent' ),
		'position' => (string) edgebot_option( 'position' ),
		'i18n'     => array(
			'open'     => __( 'Open chat', 'edgebot' ),
			'close'    => __( 'Close chat', 'edgebot' ),
			'send'     => __( 'Send', 'edgebot' ),
			'input'    => __( 'Your message', 'edgebot' ),
			'sources'  => __( 'Sources:', 'edgebot' ),
			'helpful'  => __( 'Was this helpful?', 'edgebot' ),
			'yes'      => __( 'Yes', 'edgebot' ),
			'no'       => __( 'No', 'edgebot' ),
			'thanks'   => __( 'Thanks for the feedback!', 'edgebot' ),
			'handoff'  => __( 'A person from the team will answer here.', 'edgebot' ),
			'error'    => __( 'Sorry, something went wrong. Please try again.', 'edgebot' ),
			'ended'    => __( 'Your earlier conversation is no longer available, so this is a new one.', 'edgebot' ),
			'retry'    => __( 'Try again', 'edgebot' ),
			'typing'   => __( 'The assistant is typing', 'edgebot' ),
		),
	);
	wp_add_inline_script( 'edgebot-widget', 'window.edgebotConfig = ' . wp_json_encode( $config ) . ';', 'before' );
}

/**
 * Enqueue the floating widget where enabled.
 */
function edgebot_enqueue_widget(): void {
	edgebot_register_assets();
	if ( edgebot_widget_enabled() ) {
		wp_enqueue_script( 'edgebot-widget' );
		wp_enqueue_style( 'edgebot-widget' );
	}
}

/**
 * Load the widget as an ES module.
 *
 * @param string $tag    The script tag.
 * @param string $handle The handle.
 * @return string
 */
function edgebot_module_tag( string $tag, string $handle ): string {
	if ( 'edgebot-widget' === $handle ) {
		return str_replace( '<script ', '<script type="module" ', $tag );
	}
	return $tag;
}

/**
 * The [edgebot] shortcode and the block.
 */
function edgebot_register_embeds(): void {
	add_shortcode( 'edgebot', 'edgebot_render_inline' );
	register_block_type( EDGEBOT_BRIDGE_DIR . '/blocks/chat', array( 'render_callback' => 'edgebot_render_inline' ) );
}

/**
 * An inline chat panel (shortcode and block).
 *
 * @return string
 */
function edgebot_render_inline(): string {
	if ( ! is_user_logged_in() && ! edgebot_option( 'guests' ) ) {
		return '';
	}
	edgebot_register_assets();
	wp_enqueue_script( 'edgebot-widget' );
	wp_enqueue_style( 'edgebot-widget' );
	return '<div class="edgebot-inline" data-edgebot-inline></div>';
}
