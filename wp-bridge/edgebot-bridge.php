<?php
/**
 * Plugin Name:       edgebot bridge
 * Description:       A chat widget that answers from your own pages with a self-hosted edgebot: no external AI vendor.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            edgebot
 * License:           Apache-2.0
 * Text Domain:       edgebot
 *
 * @package edgebot
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'EDGEBOT_BRIDGE_VERSION', '0.1.0' );
define( 'EDGEBOT_BRIDGE_FILE', __FILE__ );
define( 'EDGEBOT_BRIDGE_DIR', __DIR__ );

require_once __DIR__ . '/includes/class-edgebot-signer.php';
require_once __DIR__ . '/includes/class-edgebot-client.php';
require_once __DIR__ . '/includes/options.php';
require_once __DIR__ . '/includes/settings.php';
require_once __DIR__ . '/includes/rest-api.php';
require_once __DIR__ . '/includes/widget.php';
require_once __DIR__ . '/includes/content-sync.php';
require_once __DIR__ . '/includes/privacy.php';
require_once __DIR__ . '/includes/woocommerce.php';
