<?php
/**
 * PHPUnit bootstrap: the plugin's pure-PHP classes, with the few WordPress functions they use stubbed.
 *
 * @package edgebot
 */

require_once dirname( __DIR__ ) . '/includes/class-edgebot-signer.php';
