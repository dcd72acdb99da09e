<?php
/**
 * Uninstall: remove the plugin's options and scheduled events.
 *
 * @package edgebot
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'edgebot_options' );
delete_option( 'edgebot_sync_queue' );
delete_option( 'edgebot_homes' );
wp_clear_scheduled_hook( 'edgebot_retry_sync' );
